"""What the public portal offers as data: the downloadable application forms (申请表).

Pure: the views render these to PDF; the counter's services (开通, 重置, 注销) are the ones
an applicant brings a signed form for.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperForm:
    slug: str
    title: str
    purpose: str
    #: (label, blank width in characters) lines the applicant fills in by hand.
    fields: tuple[str, ...]
    declaration: str


_UNIT = ("单位名称", "统一社会信用代码", "单位编号", "法定代表人姓名", "法定代表人证件类型",
         "法定代表人证件号码", "法定代表人移动电话")
_AGENT = ("经办人姓名", "经办人证件号码", "经办人移动电话")

FORMS: dict[str, PaperForm] = {form.slug: form for form in (
    PaperForm("open", "网上办事权限开通申请表",
              "单位（个人）申请开通人社网上办事服务大厅账号及办事权限。",
              _UNIT + _AGENT + ("申请开通的业务范围", "申请原因"),
              "本单位承诺所填信息真实、准确、完整，并遵守《法人用户注册协议》，因填写不实造成的"
              "后果由本单位承担。"),
    PaperForm("reset", "网上办事密码重置申请表",
              "单位（个人）忘记登录密码或账号被锁定，申请在受理窗口重置密码。",
              _UNIT + _AGENT + ("重置原因",),
              "本单位确认申请重置网上办事账号密码，重置后的一次性密码由经办人当面领取，"
              "首次登录须修改。"),
    PaperForm("cancel", "网上办事权限注销申请表",
              "单位（个人）申请注销人社网上办事服务大厅账号及全部办事权限。",
              _UNIT + _AGENT + ("注销原因",),
              "本单位确认注销网上办事账号，注销后全部经办人授权同时失效，"
              "未办结的办件不受影响。"),
)}
