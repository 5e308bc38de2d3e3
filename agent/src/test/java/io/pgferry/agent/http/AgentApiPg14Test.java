package io.pgferry.agent.http;

import io.pgferry.agent.testbed.PgBed;

@PgBed(major = 14)
class AgentApiPg14Test extends AgentApiContract {
}
