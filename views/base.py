"""The one base view every console builds on: access by account kind, and row scope.

Flask-Admin fetches rows in several places that do not go through ``get_query``
(``get_one`` for edit/details/delete/inline edit, actions with raw ids, ajax lookups,
relation dropdowns). Each of them is closed here, once, with ``models.scope``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import quote

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    request,
    stream_with_context,
)
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView, filters
from flask_admin.contrib.sqla import typefmt as sqla_typefmt
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader, create_ajax_loader
from flask_admin.contrib.sqla.fields import QuerySelectField, QuerySelectMultipleField
from flask_admin.model import typefmt
from flask_admin.model.fields import AjaxSelectField
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms.validators import StopValidation, ValidationError

from models import db
from models.audit import record
from models.base import writes_on_get
from models import search
from models.scope import owner_values, scope_clause
from models.workflow import message_of
from observability import counted_chunks
from rules import masking
from rules import permissions as p
from rules.codes import AccountKind, Labelled
from rules.identity import InvalidValue
from views.auth import client_ip, current_actor, refuse
from views.chrome import KeptJson, admin_gettext, view_url
from views.errors import BUSY, is_locked
from views.export_plan import ExportPlan, fetched
from views.hardening import HardenedView
from views.labels import LABELS, of_value, plain_first
from views.paging import CountQuery, page_then_count
from views.spreadsheets import cell, stream_csv, stream_xlsx

#: Columns holding ID numbers or phones: masked on every page and in exports unless the
#: viewer may see them (rules.masking).
ID_COLUMNS = {"id_no", "person.id_no", "subject_person.id_no"}
PHONE_COLUMNS = {"phone", "person.phone", "subject_person.phone"}


#: An ID number or phone as the current viewer may see it.
identifier_formatter = of_value(masking.shown_by, for_actor=True)


def payload_formatter(view, context, model, name):
    """A filing's payload (申报内容) on generic pages: its labelled fields, ID numbers and
    phones as the current viewer may see them, never the stored JSON."""
    from views.item_form import labelled_payload

    payload = getattr(model, name) or {}
    spec = getattr(model, "spec", None) or getattr(getattr(model, "application", None),
                                                   "spec", None)
    if spec is None:
        return ""
    fields = labelled_payload(spec, payload, current_actor())
    if isinstance(payload.get("rows"), list):
        fields.append(("批量明细", f"{len(payload['rows'])}行"))
    return "；".join(f"{label}：{value}" for label, value in fields)


def shown_identifier(value) -> str:
    """Jinja filter ``identifier``: an ID number or phone as the current viewer may see it."""
    return masking.shown(current_actor(), value)
EXPORT_CHUNK = 1000


def _enum_of(column) -> type[Labelled] | None:
    col_type = getattr(getattr(column, "type", None), "enum_class", None)
    return col_type if isinstance(col_type, type) and issubclass(col_type, Labelled) else None


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """An ajax relation loader that only finds rows inside the actor's scope."""

    def get_query(self):
        return super().get_query().filter(scope_clause(self.model, current_actor()))

    def get_one(self, pk):
        if not str(pk).isdigit():
            return None
        with db.session.no_autoflush:
            return self.get_query().filter(self.model.id == int(pk)).one_or_none()


def _known_choice(form, field):
    if field.raw_data and field.raw_data[0] and field.data is None:
        raise StopValidation("所选记录不存在或无权访问")


def _jsonable(value):
    if isinstance(value, Labelled):
        return value.value
    if isinstance(value, (dt.date, dt.datetime, Decimal)):
        return str(value)
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return str(value)


def changes_of(model) -> tuple[dict, dict]:
    """(before, after) of the column attributes changed on ``model`` in this unit of work."""
    before, after = {}, {}
    state = sa.inspect(model)
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if history.has_changes() and attr.key != "password_hash":
            before[attr.key] = _jsonable(history.deleted[0]) if history.deleted else None
            after[attr.key] = _jsonable(history.added[0]) if history.added else None
    return before, after


class KindGate:
    """Opens a view to the account kinds it names; others get 403, anonymous users the login."""

    #: Account kinds that may open this view at all.
    kinds: frozenset[AccountKind] = frozenset()
    #: For a staff desk: the (resource, operation) of the permission matrix it needs.
    staff_right: tuple[str, str] | None = None

    def is_accessible(self) -> bool:
        actor = current_actor()
        if actor is None or actor.kind not in self.kinds:
            return False
        if self.staff_right and actor.kind == AccountKind.STAFF:
            return p.staff_may(actor.roles, *self.staff_right)
        return True

    def inaccessible_callback(self, name, **kwargs):
        return refuse()


class ScopedModelView(KindGate, HardenedView, ModelView):
    """A ModelView that serves only the account kinds it names, and only rows in scope."""

    #: Views reading a table that is not declared in models.scope stay empty for non-staff.
    column_labels = LABELS
    column_display_pk = False
    page_size = 20
    can_view_details = True
    can_set_page_size = True
    page_size_options = (20, 50, 100)
    export_types = ["csv", "xlsx"]

    @property
    def export_max_rows(self) -> int:
        """The most rows one export writes: the EXPORT_MAX_ROWS setting."""
        return current_app.config["EXPORT_MAX_ROWS"] if has_request_context() else 0

    details_modal = False

    def __init__(self, model, session=None, **kwargs):
        # Ours first: Flask-Admin takes the first type that matches, and its Enum entry
        # would show a Labelled member's English name.
        self.column_type_formatters = plain_first(
            self.column_type_formatters or sqla_typefmt.DEFAULT_FORMATTERS)
        self.column_type_formatters_export = plain_first(
            self.column_type_formatters_export or sqla_typefmt.EXPORT_FORMATTERS)
        self.column_type_formatters_detail = plain_first(
            self.column_type_formatters_detail or typefmt.DETAIL_FORMATTERS)
        self.column_formatters = {
            **{name: identifier_formatter for name in ID_COLUMNS | PHONE_COLUMNS},
            "payload": payload_formatter,
            **(self.column_formatters or {}),
        }
        choices = {c.key: _enum_of(c).choices() for c in sa.inspect(model).columns if _enum_of(c)}
        if self.column_select_related_list is None and self.column_list:
            # Load shown relations with the rows: the csv export streams after the request's
            # session is closed, where a lazy load fails (DetachedInstanceError).
            relations = sa.inspect(model).relationships
            shown = {str(c).split(".")[0] for c in self.column_list}
            self.column_select_related_list = [
                getattr(model, key) for key in sorted(shown & set(relations.keys()))]
        self.form_choices = {**choices, **(self.form_choices or {})}
        super().__init__(model, session or db, **kwargs)

    #: A table of a city's size: its unfiltered list pages with prev/next instead of counting.
    large_table = False

    #: ``rules.search`` function reading this view's search text; its hits come from an
    #: index (``models.search``) instead of Flask-Admin's LIKE over every row.
    search_rule = None

    @property
    def simple_list_pager(self) -> bool:
        if not has_request_context():
            return False
        if self.search_rule and search.bounded(self.model, self.search_rule(
                request.args.get("search"))):
            return True  # no index serves it: read the page, do not count every row
        if not self.large_table:
            return False
        return not any(k.startswith("flt") or k == "search" for k in request.args)

    def _apply_search(self, query, count_query, joins, count_joins, text):
        if not self.search_rule:
            return super()._apply_search(query, count_query, joins, count_joins, text)
        wanted = self.search_rule(text)
        if wanted is None:  # only spaces: nothing to look for
            return query, count_query, joins, count_joins
        found = search.clause(self.model, wanted)
        return (query.filter(found), count_query.filter(found) if count_query is not None
                else None, joins, count_joins)

    def get_url(self, endpoint, **kwargs):
        # Every URL the list builds (sort headers, pager, page sizes, exports): once.
        return view_url(endpoint, **kwargs)

    def render(self, template, **kwargs):
        # Flask-Admin's template strings, translated once per process (views.chrome).
        self._template_args["_gettext"] = admin_gettext
        return super().render(template, **kwargs)

    # --- what the view allows ------------------------------------------------------------
    def _handle_view(self, name, **kwargs):
        response = super()._handle_view(name, **kwargs)
        if response is not None:
            return response
        # Refuse what the view does not allow with 403 rather than Flask-Admin's redirect;
        # its inline edit endpoint does not look at can_edit at all (flask-admin#2129).
        allowed = {
            "create_view": self.can_create, "edit_view": self.can_edit,
            "ajax_update": self.can_edit, "delete_view": self.can_delete,
            "details_view": self.can_view_details, "export": self.can_export,
        }
        if not allowed.get(name, True):
            abort(403)
        return None

    # --- rows in scope -----------------------------------------------------------------
    def scope(self, model=None):
        """The scope clause of ``model`` (default: this view's model) for the current actor."""
        return scope_clause(model or self.model, current_actor())

    def get_query(self):
        return super().get_query().filter(self.scope())

    def get_count_query(self):
        # count(*) rather than Flask-Admin's count('*'), which SQLite cannot shortcut; run
        # only when the page cannot tell the count (views.paging).
        return CountQuery(sa.func.count(), db.session()).select_from(self.model).filter(
            self.scope())

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        if not execute:
            return super().get_list(page, sort_column, sort_desc, search, filters,
                                    execute, page_size)
        return page_then_count(
            lambda: super(ScopedModelView, self).get_list(
                page, sort_column, sort_desc, search, filters, True, page_size),
            page, self.page_size if page_size is None else page_size)

    def get_one(self, id):
        # Edit, details, delete and inline edit read rows by id without get_query; a row
        # out of scope is answered like a row that does not exist: 404.
        row = None
        if str(id).isdigit():
            row = self.get_query().filter(self.model.id == int(id)).one_or_none()
        if row is None:
            abort(404)
        return row

    def scoped_rows(self, ids):
        """Rows with these ids that are in scope (for actions)."""
        wanted = [int(i) for i in ids if str(i).isdigit()]
        return self.get_query().filter(self.model.id.in_(wanted)).all()

    def handle_action(self, return_view=None):
        # Actions receive raw ids; every id must be a row the actor can reach.
        ids = request.form.getlist("rowid")
        if ids:
            if not all(i.isdigit() for i in ids):
                abort(404)
            found = self.get_query().filter(self.model.id.in_([int(i) for i in ids])).count()
            if found != len(set(ids)):
                abort(404)
        return super().handle_action(return_view)

    def _create_ajax_loader(self, name, options):
        loader = create_ajax_loader(self.model, db, name, name, options)
        return ScopedAjaxLoader(name, db, loader.model, **options)

    def _scope_relations(self, form):
        # Relation dropdowns list the whole related table by default.
        for field in form:
            if isinstance(field, AjaxSelectField):
                # The scoped loader turns an out-of-scope id into None; say so, don't drop it.
                field.validators = [*field.validators, _known_choice]
            elif isinstance(field, (QuerySelectField, QuerySelectMultipleField)):
                attr = getattr(self.model, field.name, None)
                if attr is not None and hasattr(attr, "property"):
                    remote = attr.property.mapper.class_
                    field.query = db.session.query(remote).filter(self.scope(remote))
        return form

    def create_form(self, obj=None):
        return self._scope_relations(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._scope_relations(super().edit_form(obj))

    def list_form(self, obj=None):
        return self._scope_relations(super().list_form(obj))

    # --- formatting ----------------------------------------------------------------------
    def _get_filter_groups(self):
        # The groups are fixed when the view is built (_refresh_filters_cache); only their
        # lazy labels depend on the locale. Flask-Admin rebuilds them on every list page.
        shown = self.__dict__.setdefault("_filter_groups_shown", {})
        locale = str(get_locale())
        if locale not in shown:
            groups = super()._get_filter_groups()
            shown[locale] = KeptJson(groups) if groups is not None else None
        return shown[locale]

    def _refresh_filters_cache(self):
        self.__dict__.pop("_filter_groups_shown", None)
        return super()._refresh_filters_cache()

    def scaffold_filters(self, name):
        column = getattr(self.model, name, None) if isinstance(name, str) else None
        enum = _enum_of(column)
        if enum is not None:
            label = self.column_labels.get(name, name)
            return [filters.FilterEqual(column, label, options=enum.choices()),
                    filters.FilterNotEqual(column, label, options=enum.choices())]
        return super().scaffold_filters(name)

    @expose("/details/")
    @writes_on_get
    def details_view(self):
        # 查看个人信息: a role that sees full ID numbers leaves a trace when it opens a
        # person's record (personal-information law); his own record excepted.
        response = super().details_view()
        actor = current_actor()
        row_id = request.args.get("id", "")
        if getattr(response, "status_code", 200) == 200 and row_id.isdigit() and \
                self._shows_identifiers() and masking.sees_full_identifiers(actor) and \
                actor.kind != AccountKind.INDIVIDUAL:
            record("查看个人信息", actor_id=actor.account_id,
                   actor_label=str(current_user), ip=client_ip(),
                   object_type=self.model.__name__, object_id=row_id)
            db.session.commit()
        return response

    def _shows_identifiers(self) -> bool:
        return hasattr(self.model, "id_no") or any(
            str(c).split(".")[-1] == "id_no" for c in (self.column_list or []))

    @expose("/export/<export_type>/")
    def export(self, export_type):
        """Scoped, filtered export that streams: rows are read and written a chunk at a time.
        More rows than EXPORT_JOB_ROWS: written by a background job, downloaded when done."""
        if not self.can_export or export_type not in self.export_types:
            abort(404)
        threshold = current_app.config.get("EXPORT_JOB_ROWS") or 0
        if threshold and self._export_count(threshold + 1) > threshold:
            from views.jobs import start_export

            return start_export(self, export_type)
        mimetype = "text/csv" if export_type == "csv" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        filename = quote(self.get_export_name(export_type))
        return Response(stream_with_context(self.export_stream(export_type)),
                        mimetype=mimetype,
                        headers={"Content-Disposition":
                                 f"attachment; filename*=UTF-8''{filename}"})

    def export_stream(self, export_type, progress=None):
        """The export file's bytes, a chunk at a time; ``progress(n)`` is told of each chunk
        of ``n`` rows (a background job's progress bar)."""
        columns = self.get_export_columns()
        header = [str(label) for _, label in columns]
        stream = stream_csv if export_type == "csv" else stream_xlsx
        plan = ExportPlan.of(self, [name for name, _ in columns], current_actor())

        def chunks():
            # Built inside the stream: the request's session is closed by the time a WSGI
            # server iterates the body, so the query runs on a fresh one.
            query = self._export_query()
            if plan is not None:  # plain tuples, converted a column at a time
                yield from plan.chunks(fetched(  # Core rows, no ORM loading
                    db.session.connection(), plan.query(self.model, query).statement,
                    EXPORT_CHUNK))
                return
            result = db.session.execute(query.statement,  # 2.0 style: many-to-one joins
                                        execution_options={"yield_per": EXPORT_CHUNK})
            for models in result.scalars().partitions():
                yield [[cell(self.get_export_value(model, name)) for name, _ in columns]
                       for model in models]

        def reported(chunks):
            for chunk in counted_chunks(chunks, export_type):
                if progress:
                    progress(len(chunk))
                yield chunk

        return stream(header, reported(chunks()))

    def _export_count(self, limit: int) -> int:
        """How many rows the export would write, counted up to ``limit``."""
        inner = self._export_query().statement.with_only_columns(
            sa.literal_column("1"), maintain_column_froms=True).order_by(None).limit(limit)
        return db.session.scalar(sa.select(sa.func.count()).select_from(inner.subquery()))

    def _export_query(self):
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        _, query = self.get_list(0, sort[0] if sort else None, view_args.sort_desc,
                                 view_args.search, view_args.filters, execute=False,
                                 page_size=self.export_max_rows)
        return query



    # --- changes -------------------------------------------------------------------------
    def on_model_change(self, form, model, is_created):
        actor = current_actor()
        if is_created:
            for key, value in owner_values(self.model, actor).items():
                setattr(model, key, value)
        self.check_change(model, is_created)
        before, after = changes_of(model)
        if is_created:
            db.session.flush()  # the audit event names the new row's id
        action = "create" if is_created else "update"
        self._audit(f"{action}:{self.model.__name__}", model, before or None, after)

    def check_change(self, model, is_created) -> None:
        """Refuse a change with ValidationError; views add their business checks here."""

    def on_model_delete(self, model):
        self.check_delete(model)
        snapshot = {c.key: _jsonable(getattr(model, c.key))
                    for c in sa.inspect(self.model).column_attrs if c.key != "password_hash"}
        self._audit(f"delete:{self.model.__name__}", model, snapshot, None)

    def check_delete(self, model) -> None:
        """Refuse a deletion with ValidationError."""

    def _audit(self, action, model, before, after):
        actor = current_actor()
        record(action, actor_id=actor.account_id if actor else None,
               actor_label=str(current_user) if current_user.is_authenticated else "",
               ip=client_ip(), obj=model, before=before, after=after)

    def handle_view_exception(self, exc):
        # Domain validators raise InvalidValue with a Chinese message: show it as a form error.
        if isinstance(exc, InvalidValue):
            flash(str(exc), "error")
            return True
        if isinstance(exc, IntegrityError):
            flash("与已有记录冲突（如编码或证件号码重复），未保存", "error")
            return True
        if is_locked(exc):  # Flask-Admin would flash the SQL text
            flash(BUSY, "error")
            return True
        return super().handle_view_exception(exc)


def request_bound(flag_of):
    """A ``can_*`` property decided once per request (a list page reads each several times);
    True outside a request so caches build."""
    def getter(self):
        if not has_request_context():
            return True
        decided = g.setdefault("_request_bound", {})
        key = (id(self), flag_of)
        if key not in decided:
            decided[key] = flag_of(self)
        return decided[key]
    return property(getter)


__all__ = ["ScopedModelView", "ValidationError", "request_bound"]


def scoped_or_404(model, row_id: int, *options):
    """The row of ``model`` with this id if the current actor may reach it, else 404;
    ``options`` are the query's loader options (``defer`` a large column not needed)."""
    row = db.session.scalar(sa.select(model).options(*options).where(
        model.id == row_id, scope_clause(model, current_actor())))
    if row is None:
        abort(404)
    return row


def flash_refusal(error: Exception) -> None:
    """Roll back and show a workflow refusal as a message; anything else is re-raised."""
    db.session.rollback()
    message = message_of(error)
    if message is None:
        raise error
    flash(message, "error")
