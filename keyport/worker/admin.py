from django.contrib import admin

from keyport.lib.admin import BoundedAdmin
from keyport.worker.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(BoundedAdmin):
    list_display = ["worker_id", "hostname", "pid", "started_at", "last_seen_at"]
