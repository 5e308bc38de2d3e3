package io.pgferry.agent.preflight;

import java.util.List;
import java.util.Map;

/**
 * The answer of a preflight: {@code ok} is false when any finding is an error. Findings are results, not HTTP
 * errors: the call itself succeeded.
 *
 * @param facts what the checks read and the next steps need (server version, database size, extensions, ...)
 * @param notes what was not checked, or checked another way, and why
 */
public record PreflightResult(boolean ok, String side, List<Finding> findings, Map<String, Object> facts,
                              List<String> notes) {
}
