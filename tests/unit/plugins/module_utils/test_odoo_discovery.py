# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""odoo_discovery: parsing as Odoo parses, data_dir, versions, pg_hba, weaknesses and masking.

Expected values come from Odoo's odoo/tools/config.py (load, _parse_config,
_get_default_datadir), appdirs.user_data_dir on Linux, odoo/release.py and FIELD_CASES F10.
"""

from __future__ import annotations

import pytest

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils import odoo_discovery as d

# FIELD_CASES F10, plus a `%` in a password and a pre-11 option name.
MESSY_CONF = """[options]
; hand-written
admin_passwd = admin
db_password = 0d00%legacy
addons_path = /opt/odoo/odoo/addons,
    /opt/odoo/enterprise,
    /opt/odoo/custom addons,
xmlrpc_port = 8069
list_db = True

[queue_job]
channels = root:2
"""


def test_parse_odoo_conf_keeps_raw_values_and_only_options() -> None:
    options, sections = d.parse_odoo_conf(MESSY_CONF)
    assert options == {
        "admin_passwd": "admin",
        "db_password": "0d00%legacy",  # RawConfigParser: no interpolation
        "addons_path": "/opt/odoo/odoo/addons,\n/opt/odoo/enterprise,\n/opt/odoo/custom addons,",
        "http_port": "8069",  # outdated_options_map: xmlrpc_port -> http_port
        "list_db": "True",
    }
    assert sections == ["queue_job"]


def test_duplicate_option_is_refused_like_odoo() -> None:
    with pytest.raises(d.DiscoveryError) as err:
        d.parse_odoo_conf("[options]\nworkers = 2\nworkers = 4\n")
    assert str(err.value) == (
        "cannot parse the Odoo configuration: While reading from '<string>' [line  3]: option 'workers' "
        "in section 'options' already exists"
    )


def test_addons_path_f10_empty_entry_resolves_to_the_working_directory() -> None:
    options = d.parse_odoo_conf(MESSY_CONF)[0]
    paths, empty = d.split_addons_path(options["addons_path"], "/srv/odoo", {}, "/opt/odoo")
    # Odoo <= 18: abspath('') of the trailing comma is the process's working directory.
    assert paths == ["/opt/odoo/odoo/addons", "/opt/odoo/enterprise", "/opt/odoo/custom addons", "/srv/odoo"]
    assert empty == [{"position": 3, "resolved_to": "/srv/odoo"}]


def test_addons_path_19_drops_the_empty_entry() -> None:
    paths, empty = d.split_addons_path("/a, /b c ,", "/", {}, "/home/odoo", major=19)
    assert (paths, empty) == (["/a", "/b c"], [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("~/addons", ["/opt/odoo/addons"]),
        ("$ADDONS/oca,${ADDONS}/own", ["/srv/addons/oca", "/srv/addons/own"]),
        ("$UNKNOWN/x", ["/var/lib/$UNKNOWN/x"]),  # unknown variables stay, relative to the cwd
        ("relative/path", ["/var/lib/relative/path"]),
        ("/a/../b", ["/b"]),
        ("", []),
        ("None", []),
    ],
)
def test_addons_path_expansion(value: str, expected: list[str]) -> None:
    paths = d.split_addons_path(value, "/var/lib", {"ADDONS": "/srv/addons"}, "/opt/odoo")[0]
    assert paths == expected


@pytest.mark.parametrize(
    ("home", "exists", "env", "expected"),
    [
        ("/opt/odoo", True, {}, "/opt/odoo/.local/share/Odoo"),  # appdirs.user_data_dir('Odoo')
        ("/opt/odoo", True, {"XDG_DATA_HOME": "/data"}, "/data/Odoo"),  # appdirs honours XDG_DATA_HOME
        ("/nonexistent", False, {}, "/var/lib/odoo"),  # _get_default_datadir: home not a directory
    ],
)
def test_default_data_dir(home: str, exists: bool, env: dict[str, str], expected: str) -> None:
    assert d.default_data_dir(home, exists, env) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RELEASE_LEVELS = [ALPHA, BETA, RELEASE_CANDIDATE, FINAL]\nversion_info = (16, 0, 0, FINAL, 0, '')\n", "16.0"),
        ("version_info = (12, 0, 0, FINAL, 0, '')", "12.0"),
        ("version_info = ('saas~17', 2, 0, FINAL, 0, '')", "17.0"),
        ("serie = '16.0'", None),
    ],
)
def test_parse_release_py(text: str, expected: str | None) -> None:
    assert d.parse_release_py(text) == expected


def test_parse_version_output() -> None:
    assert d.parse_version_output("Odoo Server 16.0\n") == "16.0"
    assert d.parse_version_output("Odoo Server saas~17.4\n") == "17.0"
    assert d.parse_version_output("usage: odoo") is None


def test_command_line_options_override_the_file() -> None:
    argv = [
        "/usr/bin/python3",
        "/opt/odoo/odoo-bin",
        "-c",
        "/etc/odoo.conf",
        "--addons-path=/a,/b",
        "-w",
        "pw",
        "--no-database-list",
        "-dprod",
        "--http-port",
        "8070",
    ]
    assert d.cli_options(argv) == {
        "config": "/etc/odoo.conf",
        "addons_path": "/a,/b",
        "db_password": "pw",
        "list_db": False,
        "db_name": "prod",
        "http_port": "8070",
    }
    assert d.odoo_script(argv) == "/opt/odoo/odoo-bin"
    assert d.odoo_script(["/usr/bin/odoo", "--config=/etc/odoo/odoo.conf"]) == "/usr/bin/odoo"
    assert d.odoo_script(["/usr/sbin/nginx", "odoo-bin"]) is None


def test_systemctl_show_parsing() -> None:
    exec_start = (
        "{ path=/usr/bin/python3 ; argv[]=/usr/bin/python3 /opt/odoo/odoo-bin -c /etc/odoo/odoo.conf ; "
        "ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
    )
    assert d.parse_exec_start(exec_start) == ["/usr/bin/python3", "/opt/odoo/odoo-bin", "-c", "/etc/odoo/odoo.conf"]
    assert d.parse_systemd_environment('ODOO_VERSION=16.0 "LABEL=a b"') == {"ODOO_VERSION": "16.0", "LABEL": "a b"}
    assert d.parse_show("Id=odoo.service\nUser=odoo\nMainPID=64\n") == {
        "Id": "odoo.service",
        "User": "odoo",
        "MainPID": "64",
    }


def test_parse_pg_hba() -> None:
    text = (
        "# comment\nlocal all postgres peer\nlocal all all trust # legacy\n"
        "host all all 127.0.0.1/32 md5\nhost sales,erp odoo 10.0.0.0 255.0.0.0 password\n"
    )
    assert d.parse_pg_hba(text) == [
        {"line": 2, "type": "local", "database": ["all"], "user": ["postgres"], "address": None, "method": "peer"},
        {"line": 3, "type": "local", "database": ["all"], "user": ["all"], "address": None, "method": "trust"},
        {"line": 4, "type": "host", "database": ["all"], "user": ["all"], "address": "127.0.0.1/32", "method": "md5"},
        {
            "line": 5,
            "type": "host",
            "database": ["sales", "erp"],
            "user": ["odoo"],
            "address": "10.0.0.0/255.0.0.0",
            "method": "password",
        },
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$pbkdf2-sha512$600000$abc$def", True),  # odoo.tools.config crypt_context (pbkdf2_sha512)
        ("admin", False),
        ("$notahash", False),
        (False, False),
    ],
)
def test_is_password_hash(value: object, expected: bool) -> None:
    assert d.is_password_hash(value) is expected


def test_mask_options_never_returns_a_secret() -> None:
    options = {
        "admin_passwd": "admin",
        "db_password": "0d00%legacy",
        "smtp_password": False,
        "s3_secret_key": "k",
        "db_user": "odoo",
    }
    assert d.mask_options(options) == {
        "admin_passwd": d.MASK,
        "db_password": d.MASK,
        "smtp_password": False,
        "s3_secret_key": d.MASK,
        "db_user": "odoo",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [("True", True), ("no", True), ("False", False), ("false", False), ("", False), (None, False)],
)
def test_odoo_truthy_like_odoo_18(value: object, expected: bool) -> None:
    # Odoo <= 18 only maps True/true/False/false; "no" is a non-empty string, so list_db = no is on.
    assert d.odoo_truthy(value) is expected


HBA_TRUST = [{"line": 3, "type": "local", "database": ["all"], "user": ["all"], "address": None, "method": "trust"}]
HBA_MD5 = [
    {"line": 4, "type": "host", "database": ["all"], "user": ["all"], "address": "127.0.0.1/32", "method": "md5"}
]


@pytest.mark.parametrize(
    ("options", "argv", "role", "hba", "settings", "mode", "expected"),
    [
        # Defaults: admin_passwd unset means Odoo's "admin"; list_db defaults on.
        ({}, [], None, None, {}, None, ["admin_passwd_default", "list_db_enabled"]),
        (
            {"admin_passwd": "$pbkdf2-sha512$1$a$b", "list_db": "False"},
            [],
            {"name": "odoo", "superuser": False},
            [],
            {"password_encryption": "scram-sha-256"},
            0o640,
            [],
        ),
        (
            {"admin_passwd": "S3cret!", "list_db": "False", "db_password": "x"},
            ["odoo", "-w", "x"],
            {"name": "odoo", "superuser": True},
            HBA_TRUST + HBA_MD5,
            {"password_encryption": "md5"},
            0o644,
            [
                "admin_passwd_plaintext",
                "secret_on_command_line",
                "db_user_superuser",
                "pg_trust_auth",
                "pg_md5_auth",
                "config_world_readable",
            ],
        ),
        (
            {"admin_passwd": "admin", "list_db": "no"},
            [],
            None,
            None,
            {},
            0o600,
            ["admin_passwd_default", "admin_passwd_plaintext", "list_db_enabled"],
        ),
    ],
)
def test_weaknesses(options, argv, role, hba, settings, mode, expected) -> None:  # noqa: PLR0917
    found = d.weaknesses(options=options, argv=argv, role=role, hba_rules=hba, pg_settings=settings, config_mode=mode)
    assert [w["id"] for w in found] == expected
    text = repr(found)
    for secret in ("S3cret!", "0d00%legacy"):
        assert secret not in text


def test_weakness_evidence_is_exact_and_masked() -> None:
    found = d.weaknesses(
        options={"admin_passwd": "S3cret!", "list_db": "False"},
        argv=["odoo", "--db_password=x"],
        role=None,
        hba_rules=HBA_TRUST,
        pg_settings={},
        config_mode=None,
    )
    assert [(w["id"], w["evidence"]) for w in found] == [
        ("admin_passwd_plaintext", "admin_passwd = ********"),
        ("secret_on_command_line", "the service's command line has --db_password ********"),
        ("pg_trust_auth", "pg_hba line 3: local all all trust"),
    ]
