import type { PreviewLimits } from './limits';

/** An entry's name as listed: cut at `entryNameChars`, marked with an ellipsis when it was. */
export function shownName(name: string, limits: PreviewLimits): { name: string; cut: boolean } {
  if (name.length <= limits.entryNameChars) return { name, cut: false };
  let head = name.slice(0, limits.entryNameChars);
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  return { name: `${head}…`, cut: true };
}

/** The note on a listing whose names were cut, added to the note it had. */
export function withNameNote(note: string | null, namesCut: boolean, limits: PreviewLimits): string | null {
  if (!namesCut) return note;
  const names = `names longer than ${limits.entryNameChars} characters are cut`;
  return note ? `${note}; ${names}` : names;
}
