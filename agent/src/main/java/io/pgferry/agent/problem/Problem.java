package io.pgferry.agent.problem;

import java.util.List;

/**
 * An RFC 9457 problem document, plus {@code code}: a stable identifier clients can switch on.
 *
 * @param type a URN naming the code, since there is no documentation site to point at yet
 * @param field the request field at fault, for 400s
 * @param objects the database objects concerned (tables without replica identity, missing extensions, ...)
 */
public record Problem(String type, String title, int status, String detail, String code, String field,
                      List<String> objects) {

    public static Problem of(int status, String code, String title, String detail) {
        return of(status, code, title, detail, List.of());
    }

    public static Problem of(int status, String code, String title, String detail, List<String> objects) {
        return of(status, code, title, detail, null, objects);
    }

    /** The one spelling of the {@code type} URN, and no empty {@code objects} list in the document. */
    public static Problem of(int status, String code, String title, String detail, String field,
                             List<String> objects) {
        return new Problem("urn:pgferry:problem:" + code, title, status, detail, code, field,
                objects.isEmpty() ? null : objects);
    }
}
