package org.phenosort.phenosort.client;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.phenosort.phenosort.proto.v1.ExplainRequest;
import org.phenosort.phenosort.proto.v1.ExplainResponse;
import org.phenosort.phenosort.proto.v1.GalleryMontage;
import org.phenosort.phenosort.proto.v1.GalleryRequest;
import org.phenosort.phenosort.proto.v1.ImageInput;

/**
 * The RPCs that show what a model makes of one uploaded image beyond its predictions: the class
 * gallery (montages of objects per class) and the Grad-CAM explanation of one object. Runs on
 * a {@link ClassifierClient}'s channel, with its deadlines and error mapping; get one with
 * {@link ClassifierClient#inspect()}.
 */
public final class InspectionClient {
    private final ClassifierClient client;

    InspectionClient(ClassifierClient client) {
        this.client = client;
    }

    /**
     * The class gallery of an image (Gallery RPC): one montage per class, most sure first, then
     * the least certain objects unless {@code leastCertain} is negative. 0 takes the server's
     * default of a count (per class 48, least certain 24, tile size 96, columns 8).
     */
    public List<GalleryMontage> gallery(String model, int version, ImageInput image, int perClass, int leastCertain,
            int tileSize, int columns) {
        GalleryRequest req = GalleryRequest.newBuilder().setModel(model).setVersion(version).setImage(image)
                .setPerClass(perClass).setLeastCertain(Math.max(0, leastCertain))
                .setNoLeastCertain(leastCertain < 0).setTileSize(tileSize).setColumns(columns).build();
        return ClassifierClient.call(() -> {
            List<GalleryMontage> out = new ArrayList<>();
            Iterator<GalleryMontage> it = client.stub(client.getTimeoutMs() * 4).gallery(req);
            while (it.hasNext()) out.add(it.next());
            return out;
        });
    }

    /** Grad-CAM of object {@code label} for class {@code classIndex} (0: the predicted class). */
    public ExplainResponse explain(String model, int version, ImageInput image, long label, int classIndex) {
        ExplainRequest req = ExplainRequest.newBuilder().setModel(model).setVersion(version).setImage(image)
                .setLabel(label).setClassIndex(classIndex).build();
        return ClassifierClient.call(() -> client.stub(client.getTimeoutMs() * 4).explain(req));
    }
}
