package io.pgferry.agent.http;

/**
 * An RFC 9457 problem document, plus {@code code}: a stable identifier clients can switch on.
 *
 * @param type a URN naming the code, since there is no documentation site to point at yet
 */
public record Problem(String type, String title, int status, String detail, String code) {

    public static Problem of(int status, String code, String title, String detail) {
        return new Problem("urn:pgferry:problem:" + code, title, status, detail, code);
    }
}
