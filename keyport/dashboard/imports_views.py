"""Import tenants (owners): upload, choose the columns, Check first, the import's progress, its
report and Send invites. The work runs in the background worker; the pages show where it is."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from keyport.dashboard.forms import apply_errors
from keyport.dashboard.imports_forms import ImportColumnsForm, TenantImportForm
from keyport.dashboard.staff_auth import StaffRequest, owner_required
from keyport.imports import services
from keyport.imports.models import ImportStatus, TenantImport
from keyport.imports.queries import (
    get_import_for_owner,
    import_lines,
    import_report_lines,
    import_totals,
    imports_for_owner,
)
from keyport.staff.queries import get_locations_for_operator


@owner_required
def import_list(request: StaffRequest) -> HttpResponse:
    form = TenantImportForm(
        request.POST or None, request.FILES or None, locations=get_locations_for_operator(request.user)
    )
    if request.method == "POST" and form.is_valid():
        upload, contacts = form.cleaned_data["file"], form.cleaned_data["contacts_file"]
        try:
            tenant_import = services.tenant_import_upload(
                staff=request.user,
                location=form.cleaned_data["location"],
                upload=upload,
                upload_name=upload.name,
                upload_size=upload.size,
                contacts=contacts,
                contacts_name=contacts.name if contacts else "",
                contacts_size=contacts.size if contacts else 0,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect("dashboard:import_detail", import_id=tenant_import.pk)
    context = {"form": form, "imports": imports_for_owner(request.user)[:50]}
    return render(request, "dashboard/imports/list.html", context, status=400 if form.errors else 200)


@owner_required
def import_detail(request: StaffRequest, import_id: int) -> HttpResponse:
    tenant_import = get_import_for_owner(request.user, import_id)
    columns_form = None
    if tenant_import.status == ImportStatus.MAPPING:
        columns_form = ImportColumnsForm(tenant_import=tenant_import)
    context = _progress_context(tenant_import) | {
        "columns_form": columns_form,
        "totals": import_totals(tenant_import),
        "error_lines": import_lines(tenant_import, errors=True, limit=200),
        "first_lines": import_lines(tenant_import, errors=False, limit=50),
    }
    return render(request, "dashboard/imports/detail.html", context)


def _progress_context(tenant_import: TenantImport) -> dict[str, object]:
    now = timezone.now()
    return {
        "tenant_import": tenant_import,
        "time_left": _words(tenant_import.time_left(now)),
        "invites_time_left": _words(tenant_import.invites_time_left(now)),
    }


def _words(left: dt.timedelta | None) -> str:
    if left is None:
        return ""
    minutes = round(left.total_seconds() / 60)
    if minutes < 1:
        return gettext("less than a minute")
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


@owner_required
def import_progress(request: StaffRequest, import_id: int) -> HttpResponse:
    """The progress bars alone, for htmx to poll; a change of phase reloads the whole page."""
    tenant_import = get_import_for_owner(request.user, import_id)
    response = render(request, "dashboard/imports/_progress.html", _progress_context(tenant_import))
    shown = request.GET.get("shown", "")
    if shown and shown != f"{tenant_import.status}/{tenant_import.invites_status}":
        response["HX-Refresh"] = "true"
    return response


@require_POST
@owner_required
def import_columns(request: StaffRequest, import_id: int) -> HttpResponse:
    tenant_import = get_import_for_owner(request.user, import_id)
    form = ImportColumnsForm(request.POST, tenant_import=tenant_import)
    if form.is_valid():
        try:
            services.tenant_import_columns_set(
                staff=request.user, tenant_import=tenant_import, columns=form.columns()
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect("dashboard:import_detail", import_id=tenant_import.pk)
    context = _progress_context(tenant_import) | {
        "columns_form": form,
        "totals": import_totals(tenant_import),
    }
    return render(request, "dashboard/imports/detail.html", context, status=400)


@require_POST
@owner_required
def import_start(request: StaffRequest, import_id: int) -> HttpResponse:
    tenant_import = get_import_for_owner(request.user, import_id)
    try:
        services.tenant_import_start(staff=request.user, tenant_import=tenant_import)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("dashboard:import_detail", import_id=tenant_import.pk)


@require_POST
@owner_required
def import_invites(request: StaffRequest, import_id: int) -> HttpResponse:
    tenant_import = get_import_for_owner(request.user, import_id)
    try:
        services.tenant_import_invites_start(staff=request.user, tenant_import=tenant_import)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("dashboard:import_detail", import_id=tenant_import.pk)


@owner_required  # type: ignore[arg-type]  # a streaming response is not an HttpResponse
def import_report(request: StaffRequest, import_id: int) -> StreamingHttpResponse:
    """Every line with what Check first said and what the import did, as CSV."""
    tenant_import = get_import_for_owner(request.user, import_id)
    response = StreamingHttpResponse(
        import_report_lines(tenant_import), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{tenant_import.pk}-report.csv"'
    return response
