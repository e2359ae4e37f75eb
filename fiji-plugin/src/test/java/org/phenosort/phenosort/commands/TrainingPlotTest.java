package org.phenosort.phenosort.commands;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import ij.gui.Plot;
import org.junit.Test;
import org.phenosort.phenosort.proto.v1.TrainingProgress;

/** The training plot lists only the curves it has: no validation curves without a validation set. */
public class TrainingPlotTest {
    private static TrainingProgress epoch(int n, boolean validation) {
        return TrainingProgress.newBuilder().setEpoch(n).setNEpochs(3).setTrainLoss(1.0 / n)
                .setHasValidation(validation).setValLoss(validation ? 0.5 : 0).setValAccuracy(validation ? 0.9 : 0)
                .build();
    }

    private static String[] labels(Plot plot) {
        String[] d = plot.getDataObjectDesignations();
        String[] out = new String[d.length];
        for (int i = 0; i < d.length; i++) out[i] = plot.getPlotObjectLabel(i);
        return out;
    }

    @Test
    public void withoutValidationOnlyTheTrainingLoss() {
        TrainClassifier.LivePlot live = new TrainClassifier.LivePlot("cells");
        for (int n = 1; n <= 3; n++) live.add(epoch(n, false));
        Plot plot = live.plot();
        assertEquals("PhenoSort training: cells", plot.getTitle());
        assertArrayEquals(new String[] {"training loss"}, labels(plot));
    }

    @Test
    public void withValidationAllThree() {
        TrainClassifier.LivePlot live = new TrainClassifier.LivePlot("cells");
        for (int n = 1; n <= 3; n++) live.add(epoch(n, true));
        assertArrayEquals(new String[] {"training loss", "validation loss", "validation accuracy"},
                labels(live.plot()));
    }
}
