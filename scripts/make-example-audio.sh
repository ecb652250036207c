#!/usr/bin/env bash
# Regenerates the bundled example station's clips (audio/): Vietnamese speech from espeak-ng's
# `vi` voice and a signature tune from sox, encoded by ffmpeg into the formats loaxa airs
# (mp3, ogg/vorbis, flac, m4a/aac). The clips are committed; run this only to change them.
# Needs: espeak-ng sox ffmpeg (apt-get install espeak-ng sox ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/../audio"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

speak() { # speak OUT TEXT
  espeak-ng -v vi -s 150 -w "$tmp/s.wav" "$2"
  # Brought to the station loudness target (-16 LUFS, EBU R128), as loaxa validate expects.
  ffmpeg -loglevel error -y -i "$tmp/s.wav" -af loudnorm=I=-16:TP=-1.5:LRA=11 -ac 1 -ar 22050 "${@:3}" "$1"
}

# Signature tune (nhạc hiệu): a rising five-note phrase, about 4 s.
notes=(C4 E4 G4 C5 G4)
parts=()
for i in "${!notes[@]}"; do
  sox -n -r 22050 -c 1 "$tmp/n$i.wav" synth 0.7 pluck "${notes[$i]}" fade 0 0.7 0.2 vol 0.8
  parts+=("$tmp/n$i.wav")
done
sox "${parts[@]}" "$tmp/tune.wav"
ffmpeg -loglevel error -y -i "$tmp/tune.wav" -af loudnorm=I=-16:TP=-1.5:LRA=11 -ar 22050 -c:a libvorbis -q:a 3 nhac-hieu.ogg

speak gioi-thieu.mp3 "Đây là Đài truyền thanh xã Hoằng Hóa. Mời bà con nghe chương trình tuyên truyền công tác cải cách hành chính năm hai nghìn không trăm hai mươi lăm." -b:a 48k
speak ket-thuc.mp3 "Chương trình tuyên truyền cải cách hành chính đến đây là kết thúc. Cảm ơn bà con đã chú ý lắng nghe." -b:a 48k

mkdir -p cchc mot-cua
speak cchc/01-vai-tro-cchc.mp3 "Cải cách hành chính giúp người dân và doanh nghiệp giải quyết thủ tục nhanh hơn, thuận tiện hơn, góp phần phát triển kinh tế xã hội của xã." -b:a 48k
speak "cchc/02-công-khai-thủ-tục.flac" "Ủy ban nhân dân xã công khai đầy đủ các thủ tục hành chính, quy trình và thời gian giải quyết tại trụ sở và trên cổng thông tin điện tử của xã."
speak mot-cua/01-bo-phan-mot-cua.ogg "Bộ phận một cửa của Ủy ban nhân dân xã tiếp nhận hồ sơ và trả kết quả vào tất cả các ngày làm việc trong tuần." -c:a libvorbis -q:a 2
speak mot-cua/02-dich-vu-cong-truc-tuyen.m4a "Bà con có thể nộp hồ sơ trực tuyến trên Cổng dịch vụ công quốc gia, không phải đến trụ sở, tiết kiệm thời gian và chi phí đi lại." -c:a aac -b:a 48k
