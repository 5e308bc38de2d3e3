package io.pgferry.agent.http;

/**
 * A failure with a fixed HTTP status and a stable machine-readable code. Its message becomes the problem's
 * detail, so it must be written for the client and never carry secrets or driver text.
 */
public class ApiException extends RuntimeException {
    private final int status;
    private final String code;
    private final String title;

    public ApiException(int status, String code, String title, String detail) {
        super(detail);
        this.status = status;
        this.code = code;
        this.title = title;
    }

    public ApiException(int status, String code, String title, String detail, Throwable cause) {
        super(detail, cause);
        this.status = status;
        this.code = code;
        this.title = title;
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
}
