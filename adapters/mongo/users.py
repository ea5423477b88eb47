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

    def update(self, before: User, after: User) -> bool:
        old, new = to_doc(before), to_doc(after)
        changed = {key: value for key, value in new.items() if old.get(key) != value}
        if not changed:
            return self._c.count_documents({"_id": before.id}, limit=1) == 1
        where: Doc = {"_id": before.id}
        if "passwordHash" in changed:  # only over the hash this change was decided on
            where["passwordHash"] = before.password_hash
        return self._c.update_one(where, {"$set": changed}).matched_count == 1


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
