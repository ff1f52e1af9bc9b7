"""An app that connects a receiver with delivery="task" as it loads, as projects do."""
