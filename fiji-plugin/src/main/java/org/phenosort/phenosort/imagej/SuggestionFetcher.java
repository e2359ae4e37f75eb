package org.phenosort.phenosort.imagej;

import ij.ImagePlus;
import ij.plugin.Duplicator;
import java.awt.EventQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.client.ClassifierException;
import org.phenosort.phenosort.client.ServerSettings;
import org.phenosort.phenosort.client.TensorCodec;
import org.phenosort.phenosort.proto.v1.ImageInput;
import org.phenosort.phenosort.proto.v1.Suggestion;

/**
 * Asks the server which objects are most worth labelling, on a worker thread: the event
 * dispatch thread must never wait on the network. Results and errors come back on the EDT.
 */
public final class SuggestionFetcher {
    /** Deadline of one suggest call; a stopped server fails fast, a busy one gets this long. */
    static final long TIMEOUT_MS = 60_000;

    private SuggestionFetcher() {}

    /**
     * Starts the request for frame {@code frame} (1-based) and returns at once; {@code onResult}
     * gets the suggested labels, {@code onError} a one-line message, both on the EDT.
     */
    public static Thread fetch(ImagePlus image, ImagePlus labels, int frame, String model, int n,
            List<Long> exclude, Consumer<List<Long>> onResult, Consumer<String> onError) {
        // copy the frame on the caller's thread so later edits of the images cannot race the upload
        ImagePlus img = image.getNFrames() > 1 ? frameOf(image, frame) : image;
        ImagePlus lab = labels.getNFrames() > 1 ? frameOf(labels, frame) : labels;
        List<Long> skip = new ArrayList<>(exclude);
        Thread t = new Thread(() -> {
            try (ClassifierClient client = ServerSettings.newClient()) {
                client.setTimeoutMs(TIMEOUT_MS);
                ImageInput input = client.uploads().imageInput(TensorCodec.toTensor(img),
                        TensorCodec.labelsToTensor(lab), TensorCodec.voxelSize(img), image.getTitle());
                List<Long> out = new ArrayList<>();
                for (Suggestion s : client.suggest(model, 0, input, n, skip)) out.add(s.getLabel());
                EventQueue.invokeLater(() -> onResult.accept(out));
            } catch (ClassifierException | IllegalArgumentException e) {
                String msg = e.getMessage() == null ? e.toString() : e.getMessage();
                EventQueue.invokeLater(() -> onError.accept(msg.replace('\n', ' ')));
            } catch (RuntimeException e) {
                EventQueue.invokeLater(() -> onError.accept(e.toString()));
            }
        }, "PhenoSort suggest");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Time point {@code frame} (1-based) of {@code imp} as an image of its own. */
    static ImagePlus frameOf(ImagePlus imp, int frame) {
        return new Duplicator().run(imp, 1, imp.getNChannels(), 1, imp.getNSlices(), frame, frame);
    }
}
