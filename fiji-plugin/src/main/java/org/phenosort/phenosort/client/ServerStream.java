package org.phenosort.phenosort.client;

import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Supplier;

/**
 * A server stream that one thread reads and any thread may end: iterate it; {@link #close}
 * cancels the call, after which the reader's {@code hasNext()} returns false instead of
 * throwing. Failures of the call become {@link ClassifierException}s.
 */
public final class ServerStream<T> implements Iterator<T>, AutoCloseable {
    private final Context.CancellableContext context;
    private final Iterator<T> messages;
    private volatile boolean closed;

    private ServerStream(Context.CancellableContext context, Iterator<T> messages) {
        this.context = context;
        this.messages = messages;
    }

    /** Starts {@code call} (a blocking stub's streaming call) in a context that {@link #close} cancels. */
    static <T> ServerStream<T> start(Supplier<Iterator<T>> call) {
        Context.CancellableContext context = Context.current().withCancellation();
        Context previous = context.attach();
        try {
            return new ServerStream<>(context, call.get());
        } catch (RuntimeException e) {
            context.cancel(null);
            throw e;
        } finally {
            context.detach(previous);
        }
    }

    @Override
    public boolean hasNext() {
        if (closed) return false;
        try {
            return messages.hasNext();
        } catch (StatusRuntimeException e) {
            if (closed) return false;
            throw ClassifierException.of(e);
        }
    }

    @Override
    public T next() {
        if (!hasNext()) throw new NoSuchElementException("the stream has ended");
        try {
            return messages.next();
        } catch (StatusRuntimeException e) {
            throw ClassifierException.of(e);
        }
    }

    /** True after {@link #close}. */
    public boolean isClosed() {
        return closed;
    }

    /** Cancels the call (idempotent); the reader sees the end of the stream. */
    @Override
    public void close() {
        closed = true;
        context.cancel(null);
    }
}
