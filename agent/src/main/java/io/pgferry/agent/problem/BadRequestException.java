package io.pgferry.agent.problem;

import java.util.List;

/** 400 {@code invalid_request}: the request itself is wrong; {@code field} says which part. */
public final class BadRequestException extends ApiException {
    public BadRequestException(String field, String detail) {
        super(400, "invalid_request", "Invalid request", detail, field, List.of(), null);
    }
}
