package io.pgferry.agent.problem;

import java.util.List;

/**
 * A failure with a fixed HTTP status and a stable machine-readable code. Its message becomes the problem's
 * detail, so it must be written for the client and never carry secrets or driver text.
 */
public class ApiException extends RuntimeException {
    private final int status;
    private final String code;
    private final String title;
    private final String field;
    private final List<String> objects;

    public ApiException(int status, String code, String title, String detail) {
        this(status, code, title, detail, null, List.of(), null);
    }

    public ApiException(int status, String code, String title, String detail, Throwable cause) {
        this(status, code, title, detail, null, List.of(), cause);
    }

    public ApiException(int status, String code, String title, String detail, String field, List<String> objects,
                        Throwable cause) {
        super(detail, cause);
        this.status = status;
        this.code = code;
        this.title = title;
        this.field = field;
        this.objects = List.copyOf(objects);
    }

    /** 409: the request conflicts with the state of the database or with an operation already running. */
    public static ApiException conflict(String code, String detail, List<String> objects) {
        return new ApiException(409, code, "Conflict", detail, null, objects, null);
    }

    /** 422: well-formed, but the databases are not in a state where the step can be done safely. */
    public static ApiException unprocessable(String code, String detail, List<String> objects) {
        return new ApiException(422, code, "Cannot do this safely", detail, null, objects, null);
    }

    public static ApiException notFound(String code, String detail) {
        return new ApiException(404, code, "Not found", detail);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public String title() {
        return title;
    }

    public String field() {
        return field;
    }

    public List<String> objects() {
        return objects;
    }
}
