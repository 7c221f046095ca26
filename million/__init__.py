"""Domain code of the 百万客群营销助手: data, warehouse, features, models, analytics.

Nothing in this package imports qwen_agent or gradio; the tools and the web app wrap it.
"""
