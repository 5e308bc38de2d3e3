package io.pgferry.agent.http;

public final class UnauthorizedException extends ApiException {
    public UnauthorizedException(String detail) {
        super(401, "unauthorized", "Unauthorized", detail);
    }
}
