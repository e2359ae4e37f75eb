package org.phenosort.phenosort.workflow;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** Which of the two causes left a training without a validation set (issue 18, item 9). */
public class NoValidationReasonTest {
    private static String meta(double fraction, int least, String perClass) {
        return "{\"config\": {\"train_val_fraction\": " + fraction + ", \"train_val_min_per_class\": " + least
                + "}, \"training_data\": [{\"name\": \"a\", \"per_class\": " + perClass + "}, "
                + "{\"name\": \"b\", \"per_class\": {\"dim\": 3, \"bright\": 2}}]}";
    }

    @Test
    public void validationZeroIsNamed() {
        assertEquals("no validation set (validation is 0; every label trained)",
                Training.noValidationReason(meta(0, 5, "{\"dim\": 40, \"bright\": 40}")));
    }

    @Test
    public void theSmallestClassIsNamedWithItsCountsSummedOverImages() {
        // bright: 16 + 2 = 18 labels; 0.2 of them is 3.6 < 5
        assertEquals("no validation set (class 'bright' has 18 labels: validation 0.2 of them is 3.6, fewer than "
                + "the 5 per class a hold-out needs (train_val_min_per_class); every label trained)",
                Training.noValidationReason(meta(0.2, 5, "{\"dim\": 40, \"bright\": 16}")));
    }

    @Test
    public void unknownMetadataNamesBothCauses() {
        assertEquals(Training.NO_VALIDATION, Training.noValidationReason(""));
        assertEquals(Training.NO_VALIDATION, Training.noValidationReason("{\"config\": {}}"));
        // enough labels for a hold-out: this rule does not explain it, so both causes stay
        assertEquals(Training.NO_VALIDATION, Training.noValidationReason(meta(0.2, 5, "{\"dim\": 40, \"bright\": 40}")));
    }
}
