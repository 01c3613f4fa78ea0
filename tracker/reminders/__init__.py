"""Reminders: the sweep that queues what is due, and the reminder and weekly mail."""
