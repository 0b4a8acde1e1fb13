from django.contrib import admin

from keyport.documents.models import Document
from keyport.lib.admin import BoundedAdmin


@admin.register(Document)
class DocumentAdmin(BoundedAdmin):
    list_display = ["title", "customer", "content_type", "size", "visible_to_customer", "created_at"]
    search_fields = ["title", "customer__name"]
    list_select_related = ["customer"]
