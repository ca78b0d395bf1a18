"""What the public portal offers as data: its sections (个人办事, 单位办事, 查询服务), the
downloadable application forms (申请表).

Pure: the views render these to PDF; the counter's services (开通, 重置, 注销) are the ones
an applicant brings a signed form for.
"""
from __future__ import annotations

from dataclasses import dataclass

from rules.codes import Filer

#: 个人办事 and 单位办事: the items each kind of filer may file, by the item's filer.
SECTIONS: dict[str, tuple[str, frozenset[Filer]]] = {
    "personal": ("个人办事", frozenset({Filer.PERSON, Filer.BOTH})),
    "unit": ("单位办事", frozenset({Filer.UNIT, Filer.BOTH})),
}


@dataclass(frozen=True)
class Query:
    """A query the portal offers (查询服务): public, or in a console after login."""

    title: str
    endpoint: str
    description: str
    login: str = ""  # the login tab it needs ("person", "unit"), or "" for a public query


#: 查询服务, in the order the portal lists them.
QUERIES: tuple[Query, ...] = (
    Query("认定结果查询", "portal.talent_result", "高层次人才认定结果，须同时填写姓名和身份证号码"),
    Query("人才认定公示", "portal.talent_publicity", "公示期内的人才认定结果（证件号码已隐藏）"),
    Query("服务清单查询", "portal.items", "可办理的事项、申报材料和办理时限"),
    Query("个人参保及缴费查询", "me_query.index", "个人参保信息、缴费记录、个人养老帐户、参保证明",
          "person"),
    Query("单位参保及缴费查询", "unit_query.index", "单位信息、参保人员、应缴、待遇支付、参保证明",
          "unit"),
    Query("办事进度查询", "unit_filing.index", "单位和个人办件的状态和审核结果", "unit"),
)


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
