package org.phenosort.phenosort.client;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** The one reply of a client-streaming call, awaited by the thread that streams the requests. */
final class SingleReply<T> implements StreamObserver<T> {
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile T value;
    private volatile Throwable error;

    @Override
    public void onNext(T v) {
        value = v;
    }

    @Override
    public void onError(Throwable t) {
        error = t;
        done.countDown();
    }

    @Override
    public void onCompleted() {
        done.countDown();
    }

    /** True once the call ended (a failure may end it before every request is sent). */
    boolean ended() {
        return done.getCount() == 0;
    }

    /** The reply; throws the call's failure, or DEADLINE_EXCEEDED after {@code timeoutMs}. */
    T await(long timeoutMs, String what) {
        try {
            if (!done.await(timeoutMs, TimeUnit.MILLISECONDS)) {
                throw new ClassifierException(Status.Code.DEADLINE_EXCEEDED, what + " did not finish", null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClassifierException(Status.Code.CANCELLED, "interrupted", e);
        }
        if (error != null) throw ClassifierException.of(error);
        return value;
    }
}
