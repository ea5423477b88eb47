"""Adapters: MongoDB, Redis, Daraja, Socket.IO and the other libraries the domain must not see."""
