"""The one relational schema; every model is importable from here."""
from models.account import Account, StaffRole, hash_password
from models.audit import AuditEvent
from models.base import Base, db, utcnow
from models.calendar import Holiday
from models.certificate import Certificate
from models.claims import FilingClaim
from models.enrollment import Enrollment
from models.finance import BenefitPayment, Contribution, PensionAccount
from models.grant import Grant
from models.legacy import LegacyAccount
from models.person import Person
from models.service import Application, ApplicationEvent, Attachment, ImportBatch, ServiceItem
from models.sms import SmsCode, SmsOutbox
from models.talent import TalentRecognition
from models.unit import Institution, Unit

__all__ = [
    "Account", "Application", "ApplicationEvent", "Attachment", "AuditEvent", "Base",
    "BenefitPayment", "Certificate", "Contribution", "Enrollment", "Grant", "Holiday",
    "ImportBatch", "Institution", "LegacyAccount", "PensionAccount", "Person", "ServiceItem",
    "SmsCode", "SmsOutbox", "StaffRole", "TalentRecognition", "Unit", "db", "hash_password",
    "utcnow",
    "FilingClaim",
]

# Account security (issue 10): registrations, server-side sessions, the login log.
from models.account import UnitRegistration  # noqa: E402
from models.sessions import LoginLog, LoginSession  # noqa: E402

__all__ += ["LoginLog", "LoginSession", "UnitRegistration"]

# The public portal (issue 15): notices staff publish and retire.
from models.notice import Notice  # noqa: E402

__all__ += ["Notice"]

# 收件地址 (issue 15).
from models.addresses import DeliveryAddress  # noqa: E402

__all__ += ["DeliveryAddress"]

# 单位主页 收藏 (issue 15).
from models.favourites import FavouriteItem  # noqa: E402

__all__ += ["FavouriteItem"]

# Service items as versioned data (issue 16): code tables and published versions.
from models.codes import Code, CodeTable  # noqa: E402
from models.service import ServiceItemVersion  # noqa: E402

__all__ += ["Code", "CodeTable", "ServiceItemVersion"]

# Background jobs (issue 17): long imports and exports with progress.
from models.jobs import Job  # noqa: E402

__all__ += ["Job"]
