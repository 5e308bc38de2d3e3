# -*- coding: utf-8 -*-
"""AgentClient.download/upload/remote_sha256 against a real HTTP server (see conftest.py)."""

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import AgentClient, file_sha256

from conftest import TOKEN

ARCHIVE = '/v1/migrations/m1/schema-archive'


class FailJson(Exception):
    pass


class FakeModule:
    def __init__(self, **params):
        self.params = dict(agent_token=TOKEN, validate_certs=True, ca_path=None, timeout=5)
        self.params.update(params)

    def fail_json(self, **kwargs):
        raise FailJson(kwargs)


def client(srv):
    return AgentClient(FakeModule(agent_url=srv.url))


def test_download_writes_0600_and_only_when_different(agent_server, tmp_path):
    agent_server.archive = b'PGDMP' + bytes(range(256)) * 5000
    dest = str(tmp_path / 'schema.dump')
    first = client(agent_server).download(ARCHIVE, dest)
    assert first['changed'] is True and first['sha256'] == hashlib.sha256(agent_server.archive).hexdigest()
    assert first['agent_sha256'] == first['sha256'] and first['size_bytes'] == len(agent_server.archive)
    assert oct(os.stat(dest).st_mode & 0o777) == '0o600' and file_sha256(dest) == first['sha256']
    mtime = os.stat(dest).st_mtime_ns
    second = client(agent_server).download(ARCHIVE, dest)
    assert second['changed'] is False and os.stat(dest).st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == ['schema.dump']  # no temporary file left


def test_download_rejects_damaged_transfer(agent_server, tmp_path):
    agent_server.archive = b'PGDMP data'
    agent_server.archive_sha256 = '0' * 64
    dest = tmp_path / 'schema.dump'
    with pytest.raises(FailJson) as err:
        client(agent_server).download(ARCHIVE, str(dest))
    assert 'the agent announced ' + '0' * 64 in err.value.args[0]['msg']
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_upload_then_remote_sha256(agent_server, tmp_path):
    src = tmp_path / 'schema.dump'
    src.write_bytes(b'PGDMP uploaded')
    c = client(agent_server)
    assert c.remote_sha256(ARCHIVE) is None  # 404: the agent has no copy yet
    answer = c.upload(ARCHIVE, str(src))
    sha = hashlib.sha256(b'PGDMP uploaded').hexdigest()
    assert answer == {'sha256': sha, 'size_bytes': 14}
    assert agent_server.requests[-1]['headers']['X-Pgferry-Sha256'] == sha
    assert agent_server.requests[-1]['headers']['Content-Type'] == 'application/octet-stream'
    assert c.remote_sha256(ARCHIVE) == sha
