"""What a person sees: text reports, the HTML and Markdown report, charts, progress lines."""
