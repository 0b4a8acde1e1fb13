from django.contrib import admin

from keyport.documents.models import Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "customer", "content_type", "size", "visible_to_customer", "created_at"]
    search_fields = ["title", "customer__name"]
    list_select_related = ["customer"]
