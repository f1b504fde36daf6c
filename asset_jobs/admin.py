"""Admin pages for ROMA instances and asset jobs, scoped to the staff user's tenants."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path
from django.utils.html import format_html

from asset_jobs.family import ASSET_JOB_READ, ASSET_JOB_WRITE
from asset_jobs.models import AssetJob, AssetJobReason, Instance
from asset_jobs.services import (
    asset_archive_claim,
    instance_create,
    instance_set_status_spelling,
)
from jobs.admin import (
    JobAdmin,
    ReadOnlyAdminMixin,
    StuckFilter,
    TenantScopedAdminMixin,
    TenantScopeFilter,
    compact_time,
    progress_bar,
    two_lines,
)
from jobs.transitions import TransitionRefused
from tenancy.access import principal_for
from tenancy.models import Tenant


class InstanceAddForm(forms.ModelForm):
    class Meta:
        model = Instance
        fields = ["tenant", "instance_id", "name", "status_spelling"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status_spelling"].required = False

    def clean_status_spelling(self) -> str:
        return self.cleaned_data["status_spelling"] or Instance.StatusSpelling.CLASSIC

    def clean(self):
        cleaned = super().clean()
        tenant, instance_id = cleaned.get("tenant"), cleaned.get("instance_id")
        # The model's unique constraint cannot see rows through the fail-closed manager.
        exists = (
            tenant is not None
            and instance_id
            and Instance.objects.for_tenant(tenant).filter(instance_id=instance_id).exists()
        )
        if exists:
            self.add_error("instance_id", f"{tenant} already has an instance {instance_id}.")
        return cleaned


class InstanceChangeForm(forms.ModelForm):
    class Meta:
        model = Instance
        fields = ["status_spelling"]


@admin.register(Instance)
class InstanceAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """Staff who may write asset jobs in a tenant add its instances; once made, an instance
    changes only its status spelling."""

    tenant_read_permission = ASSET_JOB_READ
    form = InstanceAddForm
    list_display = ["instance_id", "name", "tenant", "status_spelling", "created_at"]
    list_filter = [TenantScopeFilter, "status_spelling"]
    list_select_related = ["tenant"]
    search_fields = ["=instance_id", "name"]

    def has_add_permission(self, request) -> bool:
        return self._holds(request, ASSET_JOB_WRITE)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._holds(request, ASSET_JOB_WRITE, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = InstanceChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return InstanceAddForm.Meta.fields
        return ["tenant", "instance_id", "name", "status_spelling", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant", "instance_id", "name", "created_at"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant":
            scope = principal_for(request).tenant_scope(ASSET_JOB_WRITE)
            tenants = Tenant.objects.filter(is_active=True)
            kwargs["queryset"] = tenants if scope.everything else tenants.filter(pk__in=scope.ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            # Through the service, which also drops the cached bodies of the instance's jobs.
            instance_set_status_spelling(instance=obj, status_spelling=obj.status_spelling)
            return
        created = instance_create(
            tenant=obj.tenant,
            instance_id=obj.instance_id,
            name=obj.name,
            status_spelling=obj.status_spelling,
        )
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False


class AssetJobReasonInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The job's failure reasons, read-only (a plain model, so its queryset is not scoped)."""

    model = AssetJobReason
    fields = ["resource_type", "resource_name", "error_code", "error_msg"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    # The job page itself is already tenant-checked; the reasons follow their job.
    def has_view_permission(self, request, obj=None) -> bool:
        return True


@admin.register(AssetJob)
class AssetJobAdmin(JobAdmin):
    change_form_template = "admin/asset_jobs/assetjob/change_form.html"
    # Narrow enough for 1280 px with the admin's sidebars: the id shortened (in full in its
    # title), instance and tenant under the type.
    list_display = ["short_id", "job", "state_badge", "progress", "begun", "duration"]
    list_display_links = ["short_id"]
    list_filter = [TenantScopeFilter, "status", StuckFilter, "begin_time", "type"]
    list_select_related = ["tenant", "instance"]
    search_fields = ["=id", "=instance__instance_id"]
    # Newest first; the id breaks ties the same way an index on (begin_time, id) is read.
    ordering = ["-begin_time", "-id"]
    inlines = [AssetJobReasonInline]
    # `archive` is left out on purpose: its storage URL would bypass the one-time download.
    fields = [
        "id",
        "tenant",
        "instance",
        "type",
        "state_badge",
        "progress",
        "archive_id",
        "begin_time",
        "end_time",
        "duration",
        "user",
        "updated_at",
    ]
    readonly_fields = ["state_badge", "progress", "duration"]

    @admin.display(description="progress")
    def progress(self, job: AssetJob) -> str:
        return progress_bar(job.progress_percent)

    @admin.display(description="id", ordering="id")
    def short_id(self, job: AssetJob) -> str:
        return format_html('<span title="{}">{}…</span>', job.id, job.id[:8])

    @admin.display(description="job", ordering="type")
    def job(self, job: AssetJob) -> str:
        return two_lines(job.get_type_display(), f"{job.instance.instance_id} · {job.tenant}")

    @admin.display(description="begun", ordering="begin_time")
    def begun(self, job: AssetJob) -> str:
        return compact_time(job.begin_time)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        download = path(
            "<path:object_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="{}_{}_download".format(*info),
        )
        return [download, *super().get_urls()]

    def download_view(self, request, object_id):
        """Hand out the job's package through the same one-time claim as the API."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_scoped_object(request, object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        try:
            package = asset_archive_claim(job=obj)
        except TransitionRefused:
            self.message_user(request, "The package was already downloaded.", messages.WARNING)
            return HttpResponseRedirect(self.admin_url("change", obj))
        self.log_change(request, obj, "Downloaded the asset package.")
        return FileResponse(
            package.file,
            as_attachment=True,
            filename=package.filename,
            content_type="application/zip",
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.is_downloadable and self.has_view_permission(request, obj):
            context["download_url"] = self.admin_url("download", obj)
        return super().render_change_form(request, context, add, change, form_url, obj)
