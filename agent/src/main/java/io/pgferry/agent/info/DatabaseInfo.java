package io.pgferry.agent.info;

/**
 * @param sizeBytes null when the agent's role may not connect to that database
 * @param localeProvider libc, icu or builtin; with {@code locale} (icu, builtin) and {@code icuRules} (16+)
 */
public record DatabaseInfo(String name, Long sizeBytes, String encoding, String collate, String ctype,
                           String owner, String localeProvider, String locale, String icuRules) {
}
