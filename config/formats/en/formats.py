"""How Django writes dates and times where the product's filters are not used (the admin's
lists and read-only fields): as `day`, `clock` and `when` do (accounts/templatetags/local_time)."""

from accounts.templatetags.local_time import CLOCK_FORMAT, DAY_FORMAT, FORMAT

DATE_FORMAT = DAY_FORMAT  # Dec 8, 2026
TIME_FORMAT = CLOCK_FORMAT  # 2:05 PM CST
DATETIME_FORMAT = FORMAT  # Dec 3, 2:05 PM CST
SHORT_DATE_FORMAT = DAY_FORMAT
SHORT_DATETIME_FORMAT = FORMAT
