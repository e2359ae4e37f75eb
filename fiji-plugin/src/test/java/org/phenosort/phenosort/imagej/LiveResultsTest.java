package org.phenosort.phenosort.imagej;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import org.junit.Test;
import org.phenosort.phenosort.proto.v1.LiveImagePrediction;
import org.phenosort.phenosort.proto.v1.LiveSessionInfo;
import org.phenosort.phenosort.proto.v1.LiveState;
import org.phenosort.phenosort.proto.v1.LiveUpdate;

/** A live update read for one image: per-object classes and margins, the least certain object, the status line. */
public class LiveResultsTest {
    static LiveSessionInfo info(LiveState state, int nLabels, long labelsVersion, long updatedVersion) {
        return LiveSessionInfo.newBuilder().setSessionId("s1").setModel("cells").addClassNames("round")
                .addClassNames("square").setState(state).setNLabels(nLabels).setLabelsVersion(labelsVersion)
                .setUpdatedVersion(updatedVersion).setMessage(state == LiveState.LIVE_STATE_WAITING
                        ? "label objects of at least 2 classes to start the live model" : "").build();
    }

    /** Objects 5, 9, 12, 30 of image "img": classes, margins, and 5 and 9 labelled; settled. */
    static LiveUpdate update(long sequence, long version, boolean quick) {
        return update(sequence, version, quick, !quick);
    }

    static LiveUpdate update(long sequence, long version, boolean quick, boolean settled) {
        LiveImagePrediction p = LiveImagePrediction.newBuilder().setImageId("img")
                .addAllLabelIds(Arrays.asList(5L, 9L, 12L, 30L))
                .addAllClassIndex(Arrays.asList(1, 2, 2, 1))
                .addAllConfidence(Arrays.asList(0.95f, 0.9f, 0.52f, 0.6f))
                .addAllMargin(Arrays.asList(0.9f, 0.8f, 0.04f, 0.2f))
                .addAllLabelled(Arrays.asList(true, true, false, false)).build();
        LiveImagePrediction other = p.toBuilder().setImageId("other").build();
        return LiveUpdate.newBuilder().setSession(info(LiveState.LIVE_STATE_IDLE, 2, version, version))
                .setSequence(sequence).setQuick(quick).setSettled(settled).addImages(other).addImages(p).build();
    }

    @Test
    public void readsTheObjectsOfItsImage() {
        LiveResults r = LiveResults.of(update(3, 2, false), "img", 0);
        assertEquals(Arrays.asList(5L, 9L, 12L, 30L), Arrays.asList(r.objects().keySet().toArray()));
        LiveResults.Prediction p = r.get(12);
        assertEquals(2, p.classIndex);
        assertEquals("square", p.className);
        assertEquals(0.04f, p.margin, 0);
        assertEquals(0.52f, p.confidence, 0);
        assertTrue(r.get(5).labelled);
        assertEquals(3, r.sequence);
        assertEquals(2, r.updatedVersion);
        assertNull(r.get(6));
    }

    @Test
    public void noResultsInAStateMessageOrForAnotherImage() {
        assertNull(LiveResults.of(update(0, 2, false).toBuilder().setSequence(0).build(), "img", 0));
        assertNull(LiveResults.of(update(3, 2, false), "not-watched", 0));
    }

    @Test
    public void refusesArraysThatDoNotFit() {
        LiveUpdate u = update(3, 2, false);
        LiveUpdate shortMargins = u.toBuilder().setImages(1, u.getImages(1).toBuilder().clearMargin().addMargin(0.1f))
                .build();
        LiveUpdate badClass = u.toBuilder().setImages(1, u.getImages(1).toBuilder().setClassIndex(0, 3)).build();
        for (LiveUpdate bad : Arrays.asList(shortMargins, badClass)) {
            try {
                LiveResults.of(bad, "img", 0);
                fail("accepted " + bad);
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage(), expected.getMessage().startsWith("live update 3"));
            }
        }
    }

    @Test
    public void leastCertainSkipsLabelledAndExcludedObjects() {
        LiveResults r = LiveResults.of(update(3, 2, false), "img", 0);
        assertEquals(12, r.leastCertain(Collections.emptySet()));
        assertEquals(30, r.leastCertain(new HashSet<>(Collections.singletonList(12L))));
        assertEquals(0, r.leastCertain(new HashSet<>(Arrays.asList(12L, 30L))));
    }

    @Test
    public void statusLine() {
        long second = 1_000_000_000L;
        assertEquals("live model: opening the live session...", LiveResults.status(null, null, 0, 0));
        assertEquals("live model: 1 label, label objects of at least 2 classes to start the live model",
                LiveResults.status(info(LiveState.LIVE_STATE_WAITING, 1, 1, 1), null, 1, 0));
        assertEquals("live model: 2 labels, training the first model...",
                LiveResults.status(info(LiveState.LIVE_STATE_TRAINING, 2, 2, 0), null, 2, 0));
        LiveResults r = LiveResults.of(update(3, 2, false), "img", 10 * second);
        LiveSessionInfo idle = info(LiveState.LIVE_STATE_IDLE, 2, 2, 2);
        assertEquals("live model: 2 labels, updated 1.3 s ago",
                LiveResults.status(idle, r, 2, 10 * second + 1_300_000_000L));
        // a change sent that the update does not reflect yet, or a quick update: more is coming
        assertEquals("live model: 2 labels, updated 0.0 s ago, updating...",
                LiveResults.status(idle, r, 3, 10 * second));
        LiveResults quick = LiveResults.of(update(4, 2, true), "img", 10 * second);
        assertEquals("live model: 2 labels, updated 0.5 s ago, updating...",
                LiveResults.status(idle, quick, 2, 10 * second + 500_000_000L));
        // every label is in, and the server's full training on them has not replaced the preview yet
        LiveResults preview = LiveResults.of(update(5, 2, false, false), "img", 10 * second);
        assertEquals("live model: 2 labels, updated 0.2 s ago, preview (a full training follows)",
                LiveResults.status(idle, preview, 2, 10 * second + 200_000_000L));
        // settled: the full training's own estimate, and what its chance check said
        LiveUpdate estimated = update(6, 2, false, true).toBuilder().setEstimateSource("2-fold estimate")
                .setEstimateBalancedAccuracy(0.857).setEstimateVerdict("uncertain").build();
        assertEquals("live model: 2 labels, updated 0.0 s ago, 2-fold estimate 0.86 (label more to know)",
                LiveResults.status(idle, LiveResults.of(estimated, "img", 10 * second), 2, 10 * second));
    }
}
