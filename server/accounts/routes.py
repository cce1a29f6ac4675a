"""Signing in: phones trade a password or an enrolment code for a device token; coordinators
sign in to the console with a cookie session. Plus the caller's profile and devices."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.response import Redirect, Template
from litestar.types import Receive, Scope, Send

from server.accounts import enrolment, throttle
from server.accounts.auth import (
    Principal,
    csrf_for_sessions,
    issue_device_token,
    principal_for_session,
    verify_password,
)
from server.accounts.phones import mask_phone, normalise_phone
from server.accounts.schemas import (
    MAX_PASSWORD,
    MAX_PHONE,
    DeviceOut,
    EnrolIn,
    LoginIn,
    SignedIn,
    TeamOut,
    UserOut,
)
from server.accounts.scope import can_see_user
from server.accounts.tables import Device, Membership, User

BAD_CREDENTIALS = "手机号或密码不正确 / Wrong phone number or password"
RATE_LIMITED = "尝试次数太多,请一分钟后再试 / Too many attempts; wait a minute and try again"
CONSOLE_ROLES = ("coordinator", "admin")
ROLE_LABELS = {
    "admin": "管理员 Admin",
    "coordinator": "队长 / 站点管理员 Coordinator",
    "volunteer": "志愿者 Volunteer",
}
# Sign-in bodies are a phone and a password or a code: refuse anything bigger unread.
SIGN_IN_MAX_BODY = 4096
# Ids are PostgreSQL integers; a bigger one in a URL is a 400, not a database overflow.
MAX_ID = 2_147_483_647
NO_STORE = CacheControlHeader(no_store=True)


class _LoginRateLimit(RateLimitMiddleware):
    """Takes its limit from the app's settings (the route list exists before any settings do)
    and answers in the API's error shape."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.max_requests = scope["litestar_app"].state.settings.login_rate_per_minute
        try:
            await super().__call__(scope, receive, send)
        except TooManyRequestsException as exc:
            raise TooManyRequestsException(
                RATE_LIMITED, headers=exc.headers, extra={"error": "rate_limited"}
            ) from None


# One bucket per client address, shared by every sign-in door, so guessing cannot be spread
# over the API and the console.
# Successes count too (it is Litestar's limiter), so the default leaves room for a station
# enrolling its phones over one Wi-Fi address; guessing is bounded per phone in throttle.py.
LOGIN_RATE = RateLimitConfig(rate_limit=("minute", 30), middleware_class=_LoginRateLimit)


def bad_credentials() -> NotAuthorizedException:
    return NotAuthorizedException(BAD_CREDENTIALS, extra={"error": "bad_credentials"})


def device_label(request: Request) -> str:
    return request.headers.get("user-agent", "")[:200]


async def check_password(request: Request, phone: str, password: str) -> dict[str, Any] | None:
    """The user row when ``phone`` and ``password`` match an active account with a password.

    Raises the generic 429 when this phone number has had too many failures lately.
    """
    if len(phone) > MAX_PHONE or len(password) > MAX_PASSWORD:
        return None  # the console's form; the JSON bodies are bounded by their schema
    settings = request.app.state.settings
    phone = normalise_phone(phone)
    window = settings.login_failure_minutes
    await throttle.reserve_attempt(
        request.app, phone, settings.login_failures_per_phone, window, RATE_LIMITED
    )
    user = (
        await User.select(User.id, User.name, User.role, User.password_hash, User.active)
        .where(User.phone == phone)
        .first()
    )
    # Always run argon2, so an unknown phone takes as long as a wrong password.
    stored = user["password_hash"] if user else None
    ok = await verify_password(stored, password, settings.hash_concurrency)
    if not (ok and user and user["active"]):
        return None
    await throttle.refund_attempt(request.app, phone, window)
    return user


async def user_out(user_id: int) -> UserOut:
    user = (
        await User.select(User.id, User.name, User.role, User.volunteer_no, User.phone)
        .where(User.id == user_id)
        .first()
    )
    if user is None:
        raise NotFoundException("No such person.", extra={"error": "not_found"})
    teams = (
        await Membership.select(
            Membership.team.id, Membership.team.code, Membership.team.name, Membership.team.active
        )
        .where((Membership.user == user_id) & Membership.active.eq(True))
        .order_by(Membership.team.code)
        .output(nested=True)
        .run()
    )
    return UserOut(
        id=user["id"],
        name=user["name"],
        role=user["role"],
        volunteer_no=user["volunteer_no"],
        phone_masked=mask_phone(user["phone"]),
        teams=[
            TeamOut(id=t["team"]["id"], code=t["team"]["code"], name=t["team"]["name"])
            for t in teams
            if t["team"]["active"]
        ],
    )


async def _signed_in(token: str, device_id: int, user_id: int) -> SignedIn:
    return SignedIn(token=token, device_id=device_id, user=await user_out(user_id))


# --- phones -------------------------------------------------------------------------------


@post(
    "/api/v1/auth/login",
    status_code=200,
    exclude_from_auth=True,
    exclude_from_csrf=True,
    middleware=[LOGIN_RATE.middleware],
    request_max_body_size=SIGN_IN_MAX_BODY,
    tags=["auth"],
)
async def login(request: Request, data: JSONBody[LoginIn]) -> SignedIn:
    """Trade a phone number and password for a device token."""
    user = await check_password(request, data.phone, data.password)
    if user is None:
        raise bad_credentials()
    token, device_id = await issue_device_token(user["id"], device_label(request))
    return await _signed_in(token, device_id, user["id"])


@post(
    "/api/v1/auth/enrol",
    status_code=200,
    exclude_from_auth=True,
    exclude_from_csrf=True,
    middleware=[LOGIN_RATE.middleware],
    request_max_body_size=SIGN_IN_MAX_BODY,
    tags=["auth"],
)
async def enrol(request: Request, data: JSONBody[EnrolIn]) -> SignedIn:
    """Trade a one-time enrolment code (``ABCD-EFGH``, any case, dash optional) for a token."""
    result = await enrolment.redeem(data.code, device_label(request))
    if result is None:
        raise bad_credentials()
    return await _signed_in(*result)


@post(
    "/api/v1/auth/logout",
    status_code=204,
    exclude_from_csrf=True,
    guards=[csrf_for_sessions],
    tags=["auth"],
)
async def logout(request: Request) -> None:
    """Sign this phone out (its token stops working) or end a browser session."""
    principal: Principal = request.user
    if principal.device_id is not None:
        await Device.update({Device.revoked_at: datetime.now(UTC)}).where(
            (Device.id == principal.device_id) & Device.revoked_at.is_null()
        )
    else:
        request.clear_session()


@get("/api/v1/me", tags=["auth"])
async def me(request: Request) -> UserOut:
    """The signed-in person, with the teams they are an active member of."""
    return await user_out(request.user.id)


def _device_out(row: dict[str, Any], principal: Principal) -> DeviceOut:
    return DeviceOut(
        id=row["id"],
        user_id=row["user"],
        label=row["label"],
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        revoked_at=row["revoked_at"],
        current=row["id"] == principal.device_id,
    )


_DEVICE_COLUMNS = (
    Device.id,
    Device.user,
    Device.label,
    Device.created_at,
    Device.last_seen_at,
    Device.revoked_at,
)


@get("/api/v1/devices", tags=["auth"])
async def list_devices(
    request: Request,
    user_id: Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)] = None,
) -> list[DeviceOut]:
    """The caller's signed-in devices; coordinators and admins may name a person they cover."""
    principal: Principal = request.user
    target = principal.id if user_id is None else user_id
    if not await can_see_user(principal, target):
        raise PermissionDeniedException(
            "You may not see this person's devices.", extra={"error": "forbidden_scope"}
        )
    rows = (
        await Device.select(*_DEVICE_COLUMNS)
        .where(Device.user == target)
        .order_by(Device.created_at, ascending=False)
        .order_by(Device.id, ascending=False)
        .run()
    )
    return [_device_out(r, principal) for r in rows]


@post(
    "/api/v1/devices/{device_id:int}/revoke",
    status_code=200,
    exclude_from_csrf=True,
    guards=[csrf_for_sessions],
    tags=["auth"],
)
async def revoke_device(
    request: Request, device_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)]
) -> DeviceOut:
    """Sign a device out: its owner, a coordinator covering the owner, or an admin."""
    principal: Principal = request.user
    row = await Device.select(Device.user).where(Device.id == device_id).first()
    if row is None or not await can_see_user(principal, row["user"]):
        # The same answer for "not yours" and "no such device": ids are not an oracle.
        raise NotFoundException("No such device.", extra={"error": "not_found"})
    await Device.update({Device.revoked_at: datetime.now(UTC)}).where(
        (Device.id == device_id) & Device.revoked_at.is_null()
    )
    updated = await Device.select(*_DEVICE_COLUMNS).where(Device.id == device_id).first()
    return _device_out(updated, principal)


# --- console session ----------------------------------------------------------------------


def _page(template: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=f"console/{template}.html",
        context=context,
        status_code=status_code,
    )


async def _session_principal(request: Request) -> Principal | None:
    uid = request.session.get("uid") if request.session else None
    return await principal_for_session(int(uid)) if uid else None


def _rate_limited_page(request: Request, exc: TooManyRequestsException) -> Template:
    return _page(
        "login",
        status_code=429,
        error=RATE_LIMITED,
        phone="",
        demo=request.app.state.settings.demo,
    )


@get("/console/login", exclude_from_auth=True, cache_control=NO_STORE, include_in_schema=False)
async def console_login_page(request: Request) -> Template | Redirect:
    principal = await _session_principal(request)
    if principal and principal.role in CONSOLE_ROLES:
        return Redirect("/console/")
    return _page("login", error=None, phone="", demo=request.app.state.settings.demo)


@post(
    "/console/login",
    exclude_from_auth=True,
    middleware=[LOGIN_RATE.middleware],
    request_max_body_size=SIGN_IN_MAX_BODY,
    exception_handlers={TooManyRequestsException: _rate_limited_page},
    cache_control=NO_STORE,
    include_in_schema=False,
)
async def console_login(request: Request) -> Template | Redirect:
    form = await request.form()
    phone = str(form.get("phone", "")).strip()
    demo = request.app.state.settings.demo
    user = await check_password(request, phone, str(form.get("password", "")))
    if user is None:
        return _page("login", status_code=401, error=BAD_CREDENTIALS, phone=phone, demo=demo)
    if user["role"] not in CONSOLE_ROLES:
        return _page(
            "login",
            status_code=403,
            error="管理台仅供队长和管理员使用,志愿者请用手机记录 / "
            "The console is for coordinators and admins; volunteers log on their phones",
            phone=phone,
            demo=demo,
        )
    request.set_session({"uid": user["id"]})
    return Redirect("/console/", status_code=303)


@post("/console/logout", exclude_from_auth=True, include_in_schema=False)
async def console_logout(request: Request) -> Redirect:
    request.clear_session()
    return Redirect("/console/login", status_code=303)


@get("/console/", exclude_from_auth=True, cache_control=NO_STORE, include_in_schema=False)
async def console_home(request: Request) -> Template | Redirect:
    principal = await _session_principal(request)
    if principal is None:
        return Redirect("/console/login")
    if principal.role not in CONSOLE_ROLES:
        return _page("forbidden", status_code=403, name=principal.name)
    return _page(
        "home",
        name=principal.name,
        role=ROLE_LABELS.get(principal.role, principal.role),
        demo=request.app.state.settings.demo,
    )


ROUTES: list = [
    login,
    enrol,
    logout,
    me,
    list_devices,
    revoke_device,
    console_login_page,
    console_login,
    console_logout,
    console_home,
]
