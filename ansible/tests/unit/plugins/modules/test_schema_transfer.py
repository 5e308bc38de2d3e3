# -*- coding: utf-8 -*-
"""schema_archive and schema_apply through the real AnsibleModule plumbing, against the test HTTP server from
conftest.py: the archive inline (in the result, then in the arguments) or as files, and the choice between them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import AgentClient
from ansible_collections.pgferry.migrate.plugins.modules import schema_apply, schema_archive

from conftest import TOKEN

ARCHIVE = b'PGDMP' + bytes(range(256)) * 40  # 10 kB
MANIFEST = b'{"signature":"hmac-sha256:0123456789abcdef:' + b'0' * 64 + b'","format":1,"tables":[]}'


def run(capsys, module, args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_:
        module.main()
    out = capsys.readouterr().out
    assert TOKEN not in out
    return exit_.value.code, json.loads(out)


def archive_args(srv, **kw):
    args = {'agent': {'url': srv.url, 'token': TOKEN}, 'migration_id': 'm1', 'database': 'app'}
    args.update(kw)
    return args


def apply_args(srv, **kw):
    args = archive_args(srv, poll_interval=0.01, wait_timeout=30)
    args.update(kw)
    return args


def archive_gets(srv):
    return [r for r in srv.requests if r['method'] == 'GET' and r['path'] == '/v1/migrations/m1/schema-archive']


@pytest.fixture
def source(agent_server, tmp_path, monkeypatch):
    """The fake agent as a source with an archive, and the temporary directory of the module's host in tmp_path."""
    agent_server.archive = ARCHIVE
    agent_server.manifest = MANIFEST
    tmp = tmp_path / 'tmp'
    tmp.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp))
    agent_server.tmp = tmp
    return agent_server


def test_small_archive_comes_inline_and_writes_nothing(source, capsys, tmp_path):
    source.archive_changed = False
    code, result = run(capsys, schema_archive, archive_args(source, inline_max_bytes=len(ARCHIVE) + len(MANIFEST),
                                                            dest=str(tmp_path / 'schema.dump')))
    assert code == 0, result
    assert result['inline'] is True and result['changed'] is False and result['archive_changed'] is False
    assert base64.b64decode(result['content']) == ARCHIVE and base64.b64decode(result['manifest_content']) == MANIFEST
    assert result['sha256'] == hashlib.sha256(ARCHIVE).hexdigest()
    assert result['manifest_sha256'] == hashlib.sha256(MANIFEST).hexdigest()
    assert 'dest' not in result and 'tmpdir' not in result
    assert sorted(p.name for p in tmp_path.iterdir()) == ['tmp'] and list(source.tmp.iterdir()) == []


def test_archive_larger_than_the_limit_goes_to_a_private_directory_unread_into_memory(source, capsys):
    code, result = run(capsys, schema_archive, archive_args(source, inline_max_bytes=len(ARCHIVE) - 1))
    assert code == 0, result
    assert result['inline'] is False and 'content' not in result and result['changed'] is True
    tmpdir = result['tmpdir']
    assert os.path.dirname(tmpdir) == str(source.tmp) and os.path.basename(tmpdir).startswith('pgferry-m1-')
    assert oct(os.stat(tmpdir).st_mode & 0o777) == '0o700'
    assert result['dest'] == os.path.join(tmpdir, 'schema.dump')
    assert result['manifest'] == os.path.join(tmpdir, 'schema.dump.manifest.json')
    with open(result['dest'], 'rb') as f:
        assert f.read() == ARCHIVE
    with open(result['manifest'], 'rb') as f:
        assert f.read() == MANIFEST
    assert oct(os.stat(result['dest']).st_mode & 0o777) == '0o600'
    assert len(archive_gets(source)) == 1  # the size from the agent's answer: straight to the file


def test_archive_that_fits_with_a_manifest_that_does_not_is_written_from_memory(source, capsys):
    code, result = run(capsys, schema_archive, archive_args(source, inline_max_bytes=len(ARCHIVE) + 10))
    assert code == 0, result
    assert result['inline'] is False and 'tmpdir' in result
    with open(result['dest'], 'rb') as f:
        assert f.read() == ARCHIVE
    with open(result['manifest'], 'rb') as f:
        assert f.read() == MANIFEST
    assert len(archive_gets(source)) == 1


def test_limit_zero_with_dest_writes_files_as_before(source, capsys, tmp_path):
    dest = str(tmp_path / 'schema.dump')
    source.archive_changed = False
    code, result = run(capsys, schema_archive, archive_args(source, dest=dest))
    assert code == 0 and result['inline'] is False and 'tmpdir' not in result
    assert result['dest'] == dest and result['changed'] is True  # the local file was new
    code, result = run(capsys, schema_archive, archive_args(source, dest=dest))
    assert code == 0 and result['changed'] is False  # the same bytes: nothing replaced
    assert list(source.tmp.iterdir()) == []


def test_damaged_download_leaves_no_directory_behind(source, capsys):
    source.archive_sha256 = '0' * 64
    code, result = run(capsys, schema_archive, archive_args(source))
    assert code == 1 and 'the agent announced ' + '0' * 64 in result['msg']
    assert list(source.tmp.iterdir()) == []


def test_damaged_inline_download_fails(source, capsys):
    source.archive_sha256 = '0' * 64
    code, result = run(capsys, schema_archive, archive_args(source, inline_max_bytes=1 << 20))
    assert code == 1 and 'the agent announced ' + '0' * 64 in result['msg'] and 'content' not in result


def test_check_mode_downloads_nothing(source, capsys):
    code, result = run(capsys, schema_archive, archive_args(source, inline_max_bytes=1 << 20,
                                                            _ansible_check_mode=True))
    assert code == 0 and result['changed'] is True and result['inline'] is False
    assert 'content' not in result and 'tmpdir' not in result and 'dest' not in result
    assert archive_gets(source) == [] and list(source.tmp.iterdir()) == []


def test_check_mode_reports_an_unchanged_archive_with_its_sha256(source, capsys):
    source.archive_changed = False  # the agent dumped and compared (check=true): the stored archive stays
    source.manifest = b'{"signature":"hmac-sha256:0:0","format":1,"archive_sha256":"%s","tables":[]}' % (
        hashlib.sha256(ARCHIVE).hexdigest().encode())
    code, result = run(capsys, schema_archive, archive_args(source, _ansible_check_mode=True))
    assert code == 0 and result['changed'] is False and result['archive_changed'] is False, result
    assert result['sha256'] == hashlib.sha256(ARCHIVE).hexdigest()
    assert result['manifest_sha256'] == hashlib.sha256(source.manifest).hexdigest()
    assert 'unchanged' in result['queries'][0] and archive_gets(source) == []


def test_negative_limit_is_refused(source, capsys):
    code, result = run(capsys, schema_archive, archive_args(source, inline_max_bytes=-1))
    assert code == 1 and 'inline_max_bytes' in result['msg']


def test_download_bytes_stops_past_the_limit(agent_server):
    agent_server.archive = ARCHIVE
    client = AgentClient(FakeModule(agent_server.url))
    assert client.download_bytes('/v1/migrations/m1/schema-archive', len(ARCHIVE) - 1) is None
    got = client.download_bytes('/v1/migrations/m1/schema-archive', len(ARCHIVE))
    assert got['data'] == ARCHIVE and got['sha256'] == hashlib.sha256(ARCHIVE).hexdigest()


class FakeModule:
    def __init__(self, url):
        self.params = dict(agent_url=url, agent_token=TOKEN, validate_certs=True, ca_path=None, timeout=5)

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def inline(data):
    return base64.b64encode(data).decode('ascii')


def puts(srv):
    return [r['path'] for r in srv.requests if r['method'] == 'PUT']


def test_apply_uploads_inline_content_once(agent_server, capsys):
    args = apply_args(agent_server, content=inline(ARCHIVE), manifest_content=inline(MANIFEST))
    code, result = run(capsys, schema_apply, args)
    assert code == 0, result
    assert result['uploaded'] == {'archive': True, 'manifest': True} and result['changed'] is True
    assert agent_server.archive == ARCHIVE and agent_server.manifest == MANIFEST
    assert result['sha256'] == hashlib.sha256(ARCHIVE).hexdigest()
    put = [r for r in agent_server.requests if r['method'] == 'PUT']
    assert put[0]['headers']['X-Pgferry-Sha256'] == hashlib.sha256(ARCHIVE).hexdigest()
    assert put[1]['headers']['Content-Type'] == 'application/json'
    # not logged to the host's syslog nor echoed back: megabytes, once the archive is large
    assert result['invocation']['module_args']['content'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    agent_server.requests.clear()
    code, result = run(capsys, schema_apply, args)
    assert code == 0 and result['uploaded'] == {'archive': False, 'manifest': False} and puts(agent_server) == []


def test_apply_from_files_and_inline_send_the_same_bytes(agent_server, capsys, tmp_path):
    (tmp_path / 'schema.dump').write_bytes(ARCHIVE)
    (tmp_path / 'schema.dump.manifest.json').write_bytes(MANIFEST)
    code, result = run(capsys, schema_apply, apply_args(agent_server, src=str(tmp_path / 'schema.dump')))
    assert code == 0 and result['uploaded'] == {'archive': True, 'manifest': True}
    agent_server.requests.clear()
    code, result = run(capsys, schema_apply, apply_args(agent_server, content=inline(ARCHIVE),
                                                        manifest_content=inline(MANIFEST)))
    assert code == 0 and result['uploaded'] == {'archive': False, 'manifest': False} and puts(agent_server) == []


def test_apply_check_mode_with_inline_content_uploads_nothing(agent_server, capsys):
    code, result = run(capsys, schema_apply, apply_args(agent_server, content=inline(ARCHIVE),
                                                        manifest_content=inline(MANIFEST), _ansible_check_mode=True))
    assert code == 0 and result['changed'] is True and result['uploaded'] == {'archive': True, 'manifest': True}
    assert puts(agent_server) == [] and agent_server.archive is None


def test_apply_check_mode_without_archive_says_what_it_would_do(agent_server, capsys):
    code, result = run(capsys, schema_apply, apply_args(agent_server, _ansible_check_mode=True))
    assert code == 0 and result['changed'] is True and result['queries'][0].startswith('-- upload the schema archive')
    assert agent_server.requests == []


def test_apply_check_mode_asks_the_agent_when_it_holds_the_stored_archive(agent_server, capsys):
    agent_server.archive, agent_server.manifest = ARCHIVE, MANIFEST
    stored = dict(archive=hashlib.sha256(ARCHIVE).hexdigest(), manifest=hashlib.sha256(MANIFEST).hexdigest())
    code, result = run(capsys, schema_apply, apply_args(agent_server, stored_sha256=stored, _ansible_check_mode=True))
    assert code == 0 and result['queries'] == ['CREATE TABLE t ()'], result  # the agent's own check answer
    assert puts(agent_server) == []
    other = dict(stored, manifest=hashlib.sha256(b'another manifest').hexdigest())
    code, result = run(capsys, schema_apply, apply_args(agent_server, stored_sha256=other, _ansible_check_mode=True))
    assert code == 0 and result['changed'] is True and result['queries'][0].startswith('-- upload the schema archive')


@pytest.mark.parametrize('kw, message', [
    ({}, 'give the archive: src'),
    ({'src': '/x/schema.dump', 'content': inline(ARCHIVE), 'manifest_content': inline(MANIFEST)},
     'mutually exclusive'),
    ({'content': inline(ARCHIVE)}, 'parameters are required together'),
    ({'content': 'not base64!', 'manifest_content': inline(MANIFEST)}, 'content is not base64'),
    ({'src': '/x/schema.dump', 'manifest_content': inline(MANIFEST)}, 'mutually exclusive'),
])
def test_apply_refuses_unclear_archive_arguments(agent_server, capsys, kw, message):
    code, result = run(capsys, schema_apply, apply_args(agent_server, **kw))
    assert code == 1 and message in result['msg'], result
    assert puts(agent_server) == []


def test_archive_sent_agent_to_agent_then_applied_with_no_upload(source, second_agent_server, capsys):
    target = second_agent_server
    args = archive_args(source, inline_max_bytes=1 << 20, target_agent={'url': target.url, 'token': TOKEN})
    code, result = run(capsys, schema_archive, args)
    assert code == 0 and result['sent'] is True and result['inline'] is False, result
    assert 'content' not in result and 'tmpdir' not in result and list(source.tmp.iterdir()) == []
    assert result['uploaded'] == {'archive': True, 'manifest': True}
    assert target.archive == ARCHIVE and target.manifest == MANIFEST
    assert result['sha256'] == hashlib.sha256(ARCHIVE).hexdigest()
    target.requests.clear()
    code, result = run(capsys, schema_archive, args)
    assert code == 0 and result['uploaded'] == {'archive': False, 'manifest': False} and puts(target) == []

    code, result = run(capsys, schema_apply, apply_args(target, archive_sent=True))
    assert code == 0 and result['uploaded'] == {'archive': False, 'manifest': False} and puts(target) == []
    assert result['sha256'] == hashlib.sha256(ARCHIVE).hexdigest()


def test_archive_sent_but_absent_is_named(agent_server, capsys):
    code, result = run(capsys, schema_apply, apply_args(agent_server, archive_sent=True))
    assert code == 1 and 'no schema archive of migration m1' in result['msg'], result
