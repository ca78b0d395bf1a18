"""参保证明 as PDF, with Chinese rendered by reportlab's built-in CID font (no font files)."""
from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from rules.codes import kinds_label
from rules.masking import mask_id

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


class _Page:
    def __init__(self, title: str):
        self.buffer = io.BytesIO()
        self.pdf = canvas.Canvas(self.buffer, pagesize=A4)
        self.pdf.setTitle(title)
        self.y = A4[1] - 72
        self.pdf.setFont(FONT, 18)
        self.pdf.drawCentredString(A4[0] / 2, self.y, title)
        self.y -= 36

    def line(self, text: str, size: int = 11, indent: int = 0) -> None:
        if self.y < 72:
            self.pdf.showPage()
            self.y = A4[1] - 72
        self.pdf.setFont(FONT, size)
        self.pdf.drawString(72 + indent, self.y, text)
        self.y -= size + 9

    def finish(self, code: str, issued: str, verify_url: str) -> bytes:
        self.y -= 12
        self.line(f"验证码：{code}    出具日期：{issued}")
        self.line(f"核验地址：{verify_url}", size=9)
        self.line("本证明由人社网上办事系统自动生成，可凭验证码核验真伪。", size=9)
        self.pdf.showPage()
        self.pdf.save()
        return self.buffer.getvalue()


def unit_certificate_pdf(facts: dict, code: str, issued: str, verify_url: str) -> bytes:
    """The unit's 参保证明 for one settlement period."""
    page = _Page("单位社会保险参保证明")
    page.line(f"单位名称：{facts['unit']}")
    page.line(f"统一社会信用代码：{facts['uscc']}    单位编号：{facts['unit_no']}")
    page.line(f"结算期：{facts['period']}    参保缴费人数：{facts['insured']}人")
    page.line("险种                      人数      单位缴纳      个人缴纳      合计", size=10)
    for row in facts["kinds"]:
        page.line(f"{row['kind']:<14}{row['people']:>6}{row['unit']:>14}{row['personal']:>14}"
                  f"{row['total']:>14}", size=10)
    return page.finish(code, issued, verify_url)


def person_certificate_pdf(facts: dict, code: str, issued: str, verify_url: str) -> bytes:
    """A person's 参保证明: his enrollment history."""
    page = _Page("个人社会保险参保证明")
    page.line(f"姓名：{facts['name']}    证件号码：{mask_id(facts['id_no'])}")
    page.line(f"累计缴费月数（本系统记录）：{facts['paid_months']}个月")
    for row in facts["history"]:
        page.line(f"{row['unit']}  {row['start']} 至 {row['end'] or '今'}  {row['status']}",
                  size=10)
        page.line(kinds_label(row["kinds"]), size=9, indent=18)
    return page.finish(code, issued, verify_url)
