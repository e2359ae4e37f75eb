package org.phenosort.phenosort.workflow;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.function.Consumer;
import org.phenosort.phenosort.client.ClassifierClient;
import org.phenosort.phenosort.proto.v1.ModelInfo;

/**
 * Model files between the server and the disk: export a version (with its training report
 * beside it), import a file as a model. Shared by the Models command and the macro API; what
 * they did goes to {@code log}, one line at a time.
 */
public final class ModelFiles {
    private ModelFiles() {}

    /** Writes a version to {@code file} (never over an existing file); returns the bytes written. */
    public static long exportModel(ClassifierClient client, String model, int version, File file, Consumer<String> log)
            throws IOException {
        if (file.getPath().isEmpty()) throw new IOException("no file given to export to");
        if (file.exists()) throw new IOException(file + " exists; choose another file name");
        File part = new File(file.getPath() + ".part");
        long n;
        try (OutputStream out = new FileOutputStream(part)) {
            n = client.modelFiles().exportModel(model, version, out);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(part.toPath());
            throw e;
        }
        Files.move(part.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE);
        log.accept("exported '" + model + "' " + (version == 0 ? "latest version" : "version " + version)
                + " to " + file + " (" + n + " bytes)");
        exportReport(client, model, version, file, log);
        return n;
    }

    /** The training report beside an exported model file: m.phenosort -> m.report.html (never over a file). */
    static File exportReport(ClassifierClient client, String model, int version, File modelFile, Consumer<String> log) {
        String name = modelFile.getName();
        int dot = name.lastIndexOf('.');
        File page = new File(modelFile.getAbsoluteFile().getParentFile(),
                (dot > 0 ? name.substring(0, dot) : name) + ".report.html");
        if (page.exists()) {
            log.accept(page + " exists; the training report was not written");
            return null;
        }
        try {
            Files.write(page.toPath(), client.modelFiles().trainingReport(model, version));
            log.accept("its training report is " + page);
            return page;
        } catch (IOException | RuntimeException e) {  // the model file is written: only say so
            log.accept("the training report could not be written: " + e.getMessage());
            return null;
        }
    }

    /** Imports a model file (as export or `phenosort train` write it) as model {@code model}. */
    public static ModelInfo importModel(ClassifierClient client, String model, File file, Consumer<String> log)
            throws IOException {
        if (!file.isFile()) throw new IOException(file + ": file not found");
        try (InputStream in = new FileInputStream(file)) {
            ModelInfo info = client.modelFiles().importModel(model, in);
            log.accept("imported " + file + " as model '" + info.getName() + "' version "
                    + info.getVersions(info.getVersionsCount() - 1));
            return info;
        }
    }
}
