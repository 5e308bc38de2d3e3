package io.pgferry.agent.http;

import io.pgferry.agent.testbed.PgBed;

@PgBed(major = 18)
class AgentApiPg18Test extends AgentApiContract {
}
