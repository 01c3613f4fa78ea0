"""Test data several test modules share."""

# A small roadmap in the format of plans/: two milestones over two weeks.
ROADMAP = '''id = "kotlin"
title = "Kotlin for backend work"
language = "Kotlin"
summary = "From the basics to a service."
outcome = "You can build a Kotlin backend."
days = 14

[[phases]]
id = "weeks-1-2"
title = "Weeks 1-2: The language"
days = 14

[[phases.milestones]]
id = "basics"
topic = "Core syntax"
title = "Types, functions and null safety"
learn = "Work through the basics."
done_when = ["You wrote a small program."]

[[phases.milestones]]
id = "coroutines"
topic = "Concurrency"
title = "Coroutines"
learn = "Structured concurrency."
done_when = ["You launched two coroutines and joined them."]
links = [{ title = "Kotlin docs", url = "https://kotlinlang.org/docs/" }]
'''
