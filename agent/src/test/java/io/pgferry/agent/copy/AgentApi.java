package io.pgferry.agent.copy;

import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;

/** The calls a migration makes on an agent, whether it runs in this JVM or as its own process. */
interface AgentApi {
    Answer get(String path) throws Exception;

    Answer post(String path, Object body) throws Exception;

    Answer put(String path, Object body) throws Exception;

    Answer putBytes(String path, byte[] body, String sha256) throws Exception;

    static AgentApi of(AgentHandle agent) {
        return new AgentApi() {
            @Override
            public Answer get(String path) throws Exception {
                return agent.get(path);
            }

            @Override
            public Answer post(String path, Object body) throws Exception {
                return agent.post(path, body);
            }

            @Override
            public Answer put(String path, Object body) throws Exception {
                return agent.put(path, body);
            }

            @Override
            public Answer putBytes(String path, byte[] body, String sha256) throws Exception {
                return agent.putBytes(path, body, sha256);
            }
        };
    }
}
