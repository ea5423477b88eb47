"""A local simulator of Safaricom's M-Pesa Daraja API (OAuth, STK push, STK query, callbacks).

It is a separate HTTP server and must never import the product (api, domain, adapters, workers).
"""
