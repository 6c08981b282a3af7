/** A picture written where -o or --draw says: FILE.html as a page, any other FILE as SVG, `-` to standard output. */
import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { drawHtml, drawSvg, type Picture } from './svg.js';

export async function writePicture(ctx: CommandContext, file: string, picture: Picture, title: string): Promise<boolean> {
  const html = /\.html?$/i.test(file);
  const text = html ? drawHtml(picture, title) : drawSvg(picture);
  if (file === '-') {
    ctx.io.stdout(text);
    return true;
  }
  const error = await fs.writeFile(resolve(ctx.io.cwd, file), text).then(
    () => undefined,
    (e: Error) => e,
  );
  if (error) {
    ctx.out.log('error', `cannot write picture "${file}": ${error.message}`);
    return false;
  }
  return true;
}
