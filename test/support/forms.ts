/** A multipart form with the file `bytes` as `upload`, under `name`, followed by the text `fields`. */
export function uploadForm(bytes: Buffer | string, name: string, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  form.append('upload', new Blob([bytes]), name);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  return form;
}
