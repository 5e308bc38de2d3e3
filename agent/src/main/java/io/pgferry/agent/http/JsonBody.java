package io.pgferry.agent.http;

import io.javalin.http.Context;
import io.pgferry.agent.json.Json;
import io.pgferry.agent.problem.BadRequestException;

/** A request's JSON body into a record, within the server's request size limit, strictly as {@link Json#parse}. */
public final class JsonBody {
    private JsonBody() {
    }

    public static <T> T read(Context ctx, Class<T> type) {
        return read(ctx, type, AgentServer.MAX_REQUEST_BYTES);
    }

    /** For the few bodies that carry a catalog from the other side, whose size grows with the schema. */
    public static <T> T read(Context ctx, Class<T> type, long limit) {
        byte[] body = RequestBodies.read(ctx, limit);
        if (body.length == 0) {
            throw new BadRequestException("body", "send a JSON object as the request body");
        }
        return Json.parse(body, type);
    }
}
