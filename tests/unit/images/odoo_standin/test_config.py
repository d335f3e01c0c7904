"""odoo.conf parsing: expected values come from Odoo's config.py (odoo/tools/config.py), not from the stand-in."""

from __future__ import annotations

import textwrap

import pytest
from standin import config


def _load(tmp_path, body, *argv):
    path = tmp_path / "odoo.conf"
    path.write_text(textwrap.dedent(body))
    return config.load(["-c", str(path), *argv], environ={})


@pytest.fixture(params=[17, 18, 19])
def major(request, monkeypatch):
    monkeypatch.setattr(config, "MAJOR", request.param)
    return request.param


def test_values_are_raw(tmp_path, major):
    # RawConfigParser: no interpolation, so '%' and '$' stay verbatim (a ConfigParser would fail on '%(').
    cfg = _load(tmp_path, "[options]\ndb_password = p%w$x%(user)s;x\nadmin_passwd = $ADMIN\n")
    assert cfg["db_password"] == "p%w$x%(user)s;x"
    assert cfg["admin_passwd"] == "$ADMIN"


def test_only_the_options_section(tmp_path, major):
    cfg = _load(tmp_path, "[queue_job]\nworkers = 9\n[options]\ndb_name = erp\n")
    assert cfg["workers"] == 0
    assert cfg["db_name"] == "erp"


F10 = """\
    [options]
    addons_path = /opt/odoo/odoo/addons,
        /opt/odoo/enterprise,
        /opt/odoo/custom addons,
    """
F10_PATHS = ["/opt/odoo/odoo/addons", "/opt/odoo/enterprise", "/opt/odoo/custom addons"]


@pytest.mark.parametrize("version", [16, 17, 18])
def test_addons_path_trailing_comma_up_to_18(tmp_path, monkeypatch, version):
    # FIELD_CASES F10; Odoo <= 18 _parse_config: abspath(expanduser(expandvars(x.strip()))) per entry,
    # so the empty entry after the trailing comma becomes the working directory.
    monkeypatch.setattr(config, "MAJOR", version)
    monkeypatch.chdir(tmp_path)
    cfg = _load(tmp_path, F10)
    assert cfg.addons_paths == [*F10_PATHS, str(tmp_path)]
    assert cfg.empty_addons_entries == [str(tmp_path)]
    assert any("empty entry" in w and str(tmp_path) in w for w in cfg.warnings)
    assert [p for p in cfg.addons_paths if p not in cfg.empty_addons_entries] == F10_PATHS


def test_addons_path_trailing_comma_19(tmp_path, monkeypatch):
    # Odoo 19 _check_comma drops empty entries.
    monkeypatch.setattr(config, "MAJOR", 19)
    cfg = _load(tmp_path, F10)
    assert cfg.addons_paths == F10_PATHS
    assert cfg.empty_addons_entries == []


@pytest.mark.parametrize(
    ("raw", "up_to_18", "in_19"),
    [
        ("True", True, True),
        ("true", True, True),
        ("False", False, False),
        ("no", "no", False),  # <= 18 keeps the string "no": truthy, so the list stays enabled
        ("0", "0", False),
    ],
)
def test_boolean_mapping(tmp_path, monkeypatch, raw, up_to_18, in_19):
    for version, expected in ((18, up_to_18), (19, in_19)):
        monkeypatch.setattr(config, "MAJOR", version)
        assert _load(tmp_path, f"[options]\nlist_db = {raw}\n")["list_db"] == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("limit_memory_hard = 2GB", "option limit_memory_hard: invalid integer value: '2GB'"),
        ("workers = four", "option workers: invalid integer value: 'four'"),
        ("db_sslmode = sometimes", "option db_sslmode: invalid choice: 'sometimes'"),
        ("transient_age_limit = soon", "option transient_age_limit: invalid floating-point value: 'soon'"),
    ],
)
def test_refused_values(tmp_path, major, line, message):
    with pytest.raises(config.ConfigError, match=message):
        _load(tmp_path, f"[options]\n{line}\n")


def test_invalid_boolean_refused_in_19(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAJOR", 19)
    with pytest.raises(config.ConfigError, match="option proxy_mode: invalid boolean value: 'maybe'"):
        _load(tmp_path, "[options]\nproxy_mode = maybe\n")


def test_duplicate_option_refused(tmp_path, major):
    with pytest.raises(config.ConfigError, match="already exists"):
        _load(tmp_path, "[options]\nworkers = 2\nworkers = 3\n")


def test_unknown_option_warned_and_kept(tmp_path, major):
    cfg = _load(tmp_path, "[options]\nqueue_job_channels = root:2\nlog_handler = :INFO\n")
    assert cfg["queue_job_channels"] == "root:2"
    assert [w for w in cfg.warnings if "unknown option" in w] == [
        f"unknown option 'queue_job_channels' in the config file at {tmp_path / 'odoo.conf'}, option stored as-is"
    ]


def test_command_line_wins_and_types(tmp_path, major):
    cfg = _load(tmp_path, "[options]\nworkers = 2\nhttp_port = 8069\n", "--workers", "4", "-d", "erp", "-i", "base")
    assert (cfg["workers"], cfg["http_port"], cfg["db_name"], cfg.init) == (4, 8069, "erp", ["base"])


def test_old_option_names_and_longpolling_alias(tmp_path, major):
    cfg = _load(tmp_path, "[options]\nxmlrpc_port = 9069\nlongpolling_port = 9072\n")
    assert cfg["http_port"] == 9069
    assert cfg.evented_port == 9072
    assert any("deprecated alias" in w for w in cfg.warnings)


def test_missing_file_means_defaults(tmp_path, major):
    cfg = config.load(["-c", str(tmp_path / "nope.conf")], environ={})
    assert (cfg["workers"], cfg["db_maxconn"], cfg["list_db"], cfg["gevent_port"]) == (0, 64, True, 8072)
    assert any("missing or unreadable" in w for w in cfg.warnings)


def test_data_dir_default_and_filestore(tmp_path, major, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = config.load(["-c", str(tmp_path / "none.conf")], environ={})
    assert cfg["data_dir"] == str(tmp_path / ".local/share/Odoo")
    assert cfg.filestore("erp") == str(tmp_path / ".local/share/Odoo/filestore/erp")
