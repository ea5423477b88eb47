"""Users in MongoDB."""

from __future__ import annotations

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from adapters.mongo.client import Doc
from domain.errors import Conflict
from domain.users import Role, User


class MongoUsers:
    def __init__(self, db: Database[Doc]) -> None:
        self._c = db["users"]

    def add(self, user: User) -> None:
        try:
            self._c.insert_one(to_doc(user))
        except DuplicateKeyError:
            raise Conflict("an account with this email already exists") from None

    def get(self, user_id: str) -> User | None:
        return from_doc(self._c.find_one({"_id": user_id}))

    def by_email(self, email: str) -> User | None:
        return from_doc(self._c.find_one({"email": email}))

    def save(self, user: User) -> None:
        self._c.replace_one({"_id": user.id}, to_doc(user))


def to_doc(user: User) -> Doc:
    return {
        "_id": user.id, "email": user.email, "passwordHash": user.password_hash,
        "firstName": user.first_name, "lastName": user.last_name, "role": user.role.value,
        "phone": user.phone, "createdAt": user.created_at, "updatedAt": user.updated_at,
    }


def from_doc(doc: Doc | None) -> User | None:
    if doc is None:
        return None
    return User(
        id=doc["_id"], email=doc["email"], password_hash=doc["passwordHash"],
        first_name=doc["firstName"], last_name=doc["lastName"], role=Role(doc["role"]),
        phone=doc.get("phone"), created_at=doc["createdAt"], updated_at=doc["updatedAt"],
    )
