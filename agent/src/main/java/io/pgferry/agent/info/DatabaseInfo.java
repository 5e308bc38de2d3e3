package io.pgferry.agent.info;

/** @param sizeBytes null when the agent's role may not connect to that database */
public record DatabaseInfo(String name, Long sizeBytes, String encoding, String collate, String ctype,
                           String owner) {
}
