# shellcheck shell=bash

# json FIELD: the field of the JSON object on stdin (an object or array as JSON).
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"; }
