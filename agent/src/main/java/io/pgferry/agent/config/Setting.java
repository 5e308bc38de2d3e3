package io.pgferry.agent.config;

/**
 * One raw value before validation, with where it came from so an error can point at the right place.
 *
 * @param origin e.g. "config file /etc/pgferry/agent.yaml", "env PGFERRY_LISTEN_PORT", "flag --listen-port"
 */
public record Setting(String key, String value, String origin) {
}
