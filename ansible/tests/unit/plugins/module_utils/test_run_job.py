# -*- coding: utf-8 -*-
"""AgentClient.run_job against a real HTTP server playing an agent's job API (see conftest.py)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    progress_text,
    step_result,
)

from conftest import TOKEN

APPLY = '/v1/migrations/m1/schema-apply'


class FailJson(Exception):
    pass


class FakeModule:
    def __init__(self, **params):
        self.params = dict(agent_token=TOKEN, validate_certs=True, ca_path=None, timeout=5)
        self.params.update(params)

    def fail_json(self, **kwargs):
        raise FailJson(kwargs)


class Clock:
    """A clock that only moves when the poller sleeps, so timeouts are tested without waiting."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


def client(srv):
    return AgentClient(FakeModule(agent_url=srv.url))


def test_job_polled_until_it_succeeds(agent_server):
    clock = Clock()
    outcome = client(agent_server).run_job(APPLY, {'database': 'app'}, poll_interval=0.5, sleep=clock.sleep,
                                           clock=clock)
    assert outcome['job']['state'] == 'succeeded' and outcome['polls'] == 2
    assert outcome['result']['changed'] is True
    # The agent is asked to hold each request until the job ends (here it answers at once): the pause is slept only
    # between answers that came sooner than it, never after the last.
    assert clock.sleeps == [0.1]
    paths = [(r['method'], r['path']) for r in agent_server.requests]
    assert paths == [('POST', APPLY + '?wait=1'), ('GET', '/v1/jobs/schema-apply:m1?wait=1'),
                     ('GET', '/v1/jobs/schema-apply:m1?wait=1')]
    result = step_result(outcome['result'], job=outcome['job'])
    assert result['changed'] is True and result['queries'] == ["CREATE ROLE r PASSWORD '********'"]
    assert result['tables'] == 2 and result['job']['id'] == 'schema-apply:m1'


def test_pauses_double_up_to_the_poll_interval(agent_server):
    agent_server.job_running_polls = 7
    clock = Clock()
    outcome = client(agent_server).run_job(APPLY, {'database': 'app'}, poll_interval=0.5, sleep=clock.sleep,
                                           clock=clock)
    assert outcome['job']['state'] == 'succeeded' and outcome['polls'] == 7
    assert clock.sleeps == [0.1, 0.2, 0.4, 0.5, 0.5, 0.5]


def test_each_poll_asks_the_agent_to_hold_it_within_the_timeouts(agent_server):
    agent_server.job_running_polls = 3
    clock = Clock()
    c = AgentClient(FakeModule(agent_url=agent_server.url, timeout=30))
    c.run_job(APPLY, {'database': 'app'}, poll_interval=2.5, sleep=clock.sleep, clock=clock)
    assert agent_server.waits == [('POST', APPLY, 1)] + [('GET', '/v1/jobs/schema-apply:m1', 3)] * 3
    agent_server.job_gets, agent_server.waits = 0, []
    c.run_job(APPLY, {'database': 'app'}, poll_interval=60, wait_timeout=600, sleep=clock.sleep, clock=clock)
    assert agent_server.waits[1:] == [('GET', '/v1/jobs/schema-apply:m1', 25)] * 3, 'within the 30 s client timeout'
    agent_server.waits = []
    c.run_job(APPLY, {'database': 'app'}, wait=False)
    assert agent_server.waits == [], 'wait=false: answered at once'


def test_real_sleep_between_polls(agent_server):
    agent_server.job_running_polls = 1
    outcome = client(agent_server).run_job(APPLY, {'database': 'app'}, poll_interval=0.01)
    assert outcome['job']['state'] == 'succeeded' and outcome['polls'] == 1


def test_wait_false_returns_the_running_job(agent_server):
    outcome = client(agent_server).run_job(APPLY, {'database': 'app'}, wait=False)
    assert outcome['job']['state'] == 'running' and outcome['result'] is None and outcome['polls'] == 0
    assert agent_server.job_gets == 0


def test_check_mode_answer_without_job(agent_server):
    outcome = client(agent_server).run_job(APPLY, {'database': 'app', 'check': True})
    assert outcome['job'] is None and outcome['result']['queries'] == ['CREATE TABLE t ()']


def test_failed_job_fails_with_the_problem(agent_server):
    agent_server.job_outcome = 'failed'
    agent_server.job_running_polls = 1
    with pytest.raises(FailJson) as err:
        client(agent_server).run_job(APPLY, {'database': 'app'}, poll_interval=0, sleep=lambda s: None)
    result = err.value.args[0]
    assert result['msg'] == ('job schema-apply:m1 failed: Unprocessable Entity [extensions_missing]: '
                             'the target lacks extensions: hstore')
    assert result['code'] == 'extensions_missing' and result['job']['state'] == 'failed'


def test_timeout_says_the_job_goes_on(agent_server):
    agent_server.job_running_polls = 100
    clock = Clock()
    with pytest.raises(FailJson) as err:
        client(agent_server).run_job(APPLY, {'database': 'app'}, wait_timeout=10, poll_interval=3,
                                     sleep=clock.sleep, clock=clock)
    result = err.value.args[0]
    assert result['msg'].startswith('job schema-apply:m1 is still running after 10s (state running, progress 8/100: '
                                    'pre-data)')
    assert 'rerun the task' in result['msg']
    assert agent_server.job_gets == 8 and clock.sleeps == [0.1, 0.2, 0.4, 0.8, 1.6, 3, 3, 3]


def test_conflict_names_the_running_job(agent_server):
    with pytest.raises(FailJson) as err:
        client(agent_server).run_job('/v1/migrations/m1/busy', {'database': 'app'})
    result = err.value.args[0]
    assert result['status'] == 409 and result['code'] == 'operation_in_progress'
    assert 'another long operation is running for this migration (job post-data:m1): post-data:m1 is running' in result['msg']
    assert TOKEN not in json.dumps(result)


def test_a_job_of_another_migration_is_queued_behind(agent_server):
    # The agent runs post-data:m2 (another playbook run): m1's POST waits for it to end, then is sent again.
    agent_server.other_job_polls = 2
    clock = Clock()
    outcome = client(agent_server).run_job('/v1/migrations/m1/queued', {'database': 'app'}, poll_interval=1,
                                           sleep=clock.sleep, clock=clock)
    assert outcome['job']['state'] == 'succeeded' and outcome['queued_seconds'] == 1.5  # polled after 0.5 s, then 1 s
    paths = [(r['method'], r['path']) for r in agent_server.requests]
    assert paths == [('POST', '/v1/migrations/m1/queued?wait=1'), ('GET', '/v1/jobs/post-data:m2'),
                     ('GET', '/v1/jobs/post-data:m2'), ('POST', '/v1/migrations/m1/queued?wait=1')]


def test_a_job_of_another_migration_that_outlasts_the_wait_times_out(agent_server):
    agent_server.other_job_polls = 100
    clock = Clock()
    with pytest.raises(FailJson) as err:
        client(agent_server).run_job('/v1/migrations/m1/queued', {'database': 'app'}, wait_timeout=5,
                                     poll_interval=1, sleep=clock.sleep, clock=clock)
    result = err.value.args[0]
    assert result['timed_out'] is True and result['status'] == 409
    assert 'the agent still runs job post-data:m2 of another migration after 5s' in result['msg']


def test_without_wait_a_job_of_another_migration_fails_at_once(agent_server):
    agent_server.other_job_polls = 100
    with pytest.raises(FailJson) as err:
        client(agent_server).run_job('/v1/migrations/m1/queued', {'database': 'app'}, wait=False)
    result = err.value.args[0]
    assert result['status'] == 409 and 'timed_out' not in result
    assert 'another long operation is running for this agent (job post-data:m2)' in result['msg']


def test_rerun_reattaches_to_the_same_job(agent_server):
    agent_server.job_running_polls = 50
    first = client(agent_server).run_job(APPLY, {'database': 'app'}, wait=False)
    second = client(agent_server).run_job(APPLY, {'database': 'app'}, wait=False)
    assert first['job']['id'] == second['job']['id'] == 'schema-apply:m1' and agent_server.job_posts == 2


def test_progress_text():
    assert progress_text({'state': 'running', 'progress': {'done': 1, 'total': 3}}) == 'state running, progress 1/3'
    assert progress_text(None) == 'state None, progress ?/?'
