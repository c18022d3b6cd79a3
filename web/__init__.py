"""farmtrace.web: the pages people see (consumer page, portal, console), labels and i18n."""
