package io.pgferry.agent.http;

import io.pgferry.agent.problem.ApiException;

public final class UnauthorizedException extends ApiException {
    public UnauthorizedException(String detail) {
        super(401, "unauthorized", "Unauthorized", detail);
    }
}
